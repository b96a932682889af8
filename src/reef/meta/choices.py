"""The fixed sets of values Reef's options take, and the one rule that reads them.

A choice is read without regard to case, hyphens, underscores or spaces, so that
``SingleStream``, ``single-stream``, ``singlestream`` and ``SINGLE_STREAM`` all name the same
scenario, plus a few aliases (``markdown`` for ``md``). Each choice is defined here once and
used by the schema (``reef.meta.settings``), the layer that validates it (bench settings, the
installer, the report) and the CLI, which lists the values in ``--help``.

This module imports only the standard library and ``reef.errors``: the CLI reads it to build
``--help`` without importing pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reef.errors import ReefError, SettingsError

__all__ = [
    "CACHE_KIND",
    "FIGURE_FORMAT",
    "GRAPH_OPTIMIZATION",
    "INSTALLER",
    "MODE",
    "PLOT_KIND",
    "REPORT_FORMAT",
    "RUNS_FORMAT",
    "RUN_STATUS",
    "SCENARIO",
    "SHELL",
    "TRACE_LEVEL",
    "Choice",
    "key",
]


def key(text: str) -> str:
    """What two spellings of one value have in common: lower case, without ``-``, ``_``,
    spaces or dots."""
    return "".join(c for c in text.strip().lower() if c not in "-_ .")


@dataclass(frozen=True)
class Choice:
    """One option's values (in the spelling Reef stores and prints) and extra aliases."""

    option: str  # how messages name it: "--scenario"
    values: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    noun: str = "value"  # "--format: unknown format 'xml'"
    _table: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {key(v): v for v in self.values}
        table.update({key(a): v for a, v in self.aliases.items()})
        object.__setattr__(self, "_table", MappingProxyType(table))

    def find(self, value: str) -> str | None:
        """The value ``value`` spells, or None."""
        return self._table.get(key(value))

    def parse(self, value: str, error: type[ReefError] = SettingsError) -> str:
        """The value ``value`` spells; anything else is ``error`` (exit 2) naming the option
        and listing the values."""
        found = self.find(str(value))
        if found is None:
            raise error(f"{self.option}: unknown {self.noun} {value!r}", hint=self.hint)
        return found

    @property
    def hint(self) -> str:
        return f"choose one of {', '.join(self.values)} (in any case)"

    @property
    def metavar(self) -> str:
        """What ``--help`` shows in the option's place: ``[a|b|c]``."""
        return "[" + "|".join(self.values) + "]"


SCENARIO = Choice("--scenario", ("SingleStream", "MultiStream", "Server", "Offline"))
MODE = Choice(
    "--mode",
    ("performance", "accuracy", "both"),
    # LoadGen's own names for the first two.
    MappingProxyType({"PerformanceOnly": "performance", "AccuracyOnly": "accuracy"}),
)
TRACE_LEVEL = Choice("--trace", ("none", "model", "framework", "system", "full"), noun="level")
GRAPH_OPTIMIZATION = Choice(
    "--graph-optimization", ("none", "basic", "extended", "all"), noun="level"
)
INSTALLER = Choice("--installer", ("auto", "uv", "pip"), noun="installer")
RUNS_FORMAT = Choice("--format", ("table", "json", "csv"), noun="format")
REPORT_FORMAT = Choice(
    "--format", ("html", "md"), MappingProxyType({"markdown": "md", "htm": "html"}), "format"
)
FIGURE_FORMAT = Choice("--figures", ("svg", "png", "pdf", "mpl-svg"), noun="figure format")
PLOT_KIND = Choice(
    "KIND", ("cdf", "histogram", "throughput", "pareto"), MappingProxyType({"hist": "histogram"})
)
RUN_STATUS = Choice("--status", ("valid", "invalid", "interrupted", "failed"))
CACHE_KIND = Choice(
    "--kind",
    ("steps", "sources", "envs"),
    MappingProxyType({"step": "steps", "source": "sources", "env": "envs", "environments": "envs"}),
    noun="kind",
)
SHELL = Choice("SHELL", ("bash", "zsh", "fish", "powershell", "pwsh"), noun="shell")
