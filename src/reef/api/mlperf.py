"""MLPerf submission verbs: stored runs to a submission tree, and Reef's check of a tree.

The work is in ``reef.mlperf.export`` and ``reef.mlperf.check``; these verbs load the runs
(ids or unique prefixes) and the ``--system-desc`` YAML, and hand back typed reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reef.errors import SettingsError
from reef.meta.run import RunRecord

if TYPE_CHECKING:
    from reef.mlperf.check import MlperfCheck
    from reef.mlperf.export import MlperfExport


def load_system_desc(path: str | Path) -> dict[str, Any]:
    """The fields of a ``--system-desc`` YAML: a mapping of system description (or
    measurement JSON) fields; refused by name when it is not one."""
    import yaml

    from reef.files import read_regular

    source = Path(path)
    raw = read_regular(source, "system description", max_bytes=1 << 20)
    try:
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{source}: not YAML: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise SettingsError(
            f"{source}: expected a mapping of system description fields",
            hint="e.g. status: available\\nsystem_type: edge",
        )
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise SettingsError(f"{source}: {key}: expected a text or a number")
    return data


def export_mlperf(
    runs: Sequence[str | RunRecord],
    out: str | Path,
    *,
    division: str,
    submitter: str,
    system: str,
    round: str | None = None,
    benchmark: str | None = None,
    force: bool = False,
    system_desc: str | Path | Mapping[str, Any] | None = None,
    system_type: str | None = None,
    status: str | None = None,
) -> MlperfExport:
    """Write the MLPerf submission tree of stored ``runs`` (ids, unique prefixes or
    records) under ``out``. ``round`` defaults to the round whose seeds the runs used, else
    v6.0; ``benchmark`` maps the runs' model onto a benchmark (open division);
    ``system_desc`` (a YAML path or a mapping), ``system_type`` and ``status`` fill what the
    environment fingerprint cannot. Nothing is written unless every check passes."""
    from reef import __version__
    from reef.api.runs import runs_show
    from reef.mlperf.export import export

    if not runs:
        raise SettingsError("no runs to export", hint="name one or more run ids")
    if isinstance(system_desc, str | Path):
        fields = load_system_desc(system_desc)
    else:
        fields = dict(system_desc or {})
    if system_type is not None:
        fields["system_type"] = system_type
    if status is not None:
        fields["status"] = status
    records = [r if isinstance(r, RunRecord) else runs_show(r) for r in runs]
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise SettingsError(f"run {record.id[:8]} is named twice")
        seen.add(record.id)
    return export(
        records,
        Path(out),
        division=division,
        submitter=submitter,
        system=system,
        round_=round,
        benchmark=benchmark,
        force=force,
        system_desc=fields,
        reef_version=__version__,
    )


def check_mlperf(root: str | Path, *, round: str | None = None) -> MlperfCheck:
    """Check the submission tree under ``root`` against Reef's reading of MLPerf's rules
    (``round`` defaults to the one its layout and seeds say). ``passed`` is false when a
    finding is an error; a folder holding no submission is refused (exit 2)."""
    from reef.mlperf.check import check

    return check(Path(root), round)
