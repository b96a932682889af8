"""MLPerf's config files (mlperf.conf, user.conf): their grammar, LoadGen's lookup, and the
effective settings of a run with the file that set each one.

A line is ``model.scenario.key = value``; ``#`` (a word of its own) starts a comment; ``*``
stands for any model or scenario. For a model and scenario LoadGen looks a key up as
``model.scenario.key``, then ``*.scenario.key``, then ``model.*.key``, then ``*.*.key``
(LoadGen's ``TestSettings::FromConfig``). Each file is looked up on its own, and a later file
(user.conf) wins wherever it has the key at all.

LoadGen itself skips what it cannot read (``key=value`` without spaces, a key it does not
know): here each such line is refused, naming the file, line and key, before anything runs.

The official mlperf.conf is the one compiled into the installed LoadGen; its text is read from
the extension module's bytes, so it is always the round's own.

Sources of a value (``ConfigSetting.source``): ``mlperf.conf`` (the official file), the path of
an ``--mlperf-conf`` or ``--user-conf`` file, ``reef`` (Reef's short run length or its
calibration from the warm-up), ``loadgen`` (LoadGen's built-in default: no file sets it), or
the ``reef bench`` option the user gave (``--duration``, ``--seed``, ...).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reef.errors import SettingsError

if TYPE_CHECKING:
    from reef.bench.calibrate import Expectations
    from reef.meta.run import ConfigSetting
    from reef.meta.settings import BenchSettings

OFFICIAL = "mlperf.conf"
REEF = "reef"
LOADGEN = "loadgen"
_OFFICIAL_START = b"# The format of this config file"
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
Kind = Literal["int", "float", "bool"]


@dataclass(frozen=True)
class Key:
    """A key LoadGen's FromConfig reads: the TestSettings attribute it sets per scenario
    (``"*"``: every scenario), its type, and the factor from config units to LoadGen's."""

    attrs: dict[str, str]
    kind: Kind = "int"
    scale: float = 1.0
    # Read only from the official file (conf_type 0): seeds and the accuracy log sampling.
    official_only: bool = False
    # Booleans LoadGen sets from ``value == 1`` (else from ``value != 0``).
    true_is_one: bool = False


def _all(attr: str, kind: Kind = "int", **kw: Any) -> Key:
    return Key({"*": attr}, kind, **kw)


# Every key LoadGen 6.0's FromConfig reads (loadgen/test_settings_internal.cc).
KEYS: dict[str, Key] = {
    "mode": _all("mode"),
    "qsl_rng_seed": _all("qsl_rng_seed", official_only=True),
    "sample_index_rng_seed": _all("sample_index_rng_seed", official_only=True),
    "schedule_rng_seed": _all("schedule_rng_seed", official_only=True),
    "accuracy_log_probability": _all(
        "accuracy_log_probability", "float", scale=0.01, official_only=True
    ),
    "test05": _all("test05", "bool", official_only=True, true_is_one=True),
    "test05_qsl_rng_seed": _all("test05_qsl_rng_seed", official_only=True),
    "test05_sample_index_rng_seed": _all("test05_sample_index_rng_seed", official_only=True),
    "test05_schedule_rng_seed": _all("test05_schedule_rng_seed", official_only=True),
    "use_token_latencies": _all("use_token_latencies", "bool", true_is_one=True),
    "ttft_latency": Key({"Server": "server_ttft_latency"}, scale=1e6),
    "tpot_latency": Key({"Server": "server_tpot_latency"}, scale=1e6),
    "infer_token_latencies": _all("infer_token_latencies", "bool", true_is_one=True),
    "token_latency_scaling_factor": _all("token_latency_scaling_factor"),
    "target_latency_percentile": Key(
        {
            "SingleStream": "single_stream_target_latency_percentile",
            "MultiStream": "multi_stream_target_latency_percentile",
            "Server": "server_target_latency_percentile",
        },
        "float",
        scale=0.01,
    ),
    "samples_per_query": Key({"MultiStream": "multi_stream_samples_per_query"}),
    "target_latency": Key(
        {
            "SingleStream": "single_stream_expected_latency_ns",
            "MultiStream": "multi_stream_expected_latency_ns",
            "Server": "server_target_latency_ns",
        },
        "float",
        scale=1e6,
    ),
    "performance_issue_unique": _all("performance_issue_unique", "bool"),
    "performance_issue_same": _all("performance_issue_same", "bool"),
    "performance_issue_same_index": _all("performance_issue_same_index"),
    "sample_concatenate_permutation": _all(
        "sample_concatenate_permutation", "bool", true_is_one=True
    ),
    "coalesce_queries": Key({"Server": "server_coalesce_queries"}, "bool"),
    "max_async_queries": Key({"Server": "server_max_async_queries"}),
    "min_duration": _all("min_duration_ms"),
    "max_duration": _all("max_duration_ms"),
    "min_query_count": _all("min_query_count"),
    "max_query_count": _all("max_query_count"),
    "performance_sample_count_override": _all("performance_sample_count_override"),
    "accuracy_sample_count_override": _all("accuracy_sample_count_override"),
    "target_qps": Key({"Server": "server_target_qps", "Offline": "offline_expected_qps"}, "float"),
    "print_timestamps": _all("print_timestamps", "bool"),
    "accuracy_log_rng_seed": _all("accuracy_log_rng_seed"),
    "accuracy_log_sampling_target": _all("accuracy_log_sampling_target"),
}
# In the official mlperf.conf but read by no FromConfig (``*.Server.target_duration``): allowed
# in an mlperf.conf, refused in a user.conf, where it would do nothing.
IGNORED_OFFICIAL = frozenset({"target_duration"})
# Keys Reef sets itself from its own options, refused in a user.conf.
REEF_OWNED = {"mode": "--mode", "samples_per_query": "--samples-per-query"}
SEEDS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")
# How long a run lasts: Reef shortens these unless --compliant or a user.conf sets them.
RUN_LENGTH = ("min_duration", "max_duration", "min_query_count", "max_query_count")
# What LoadGen pre-generates queries from; Reef calibrates them from the warm-up (the official
# file's values are placeholders "defined and overridden by user.conf"), except Server's
# target_latency, the latency bound: a rule under --compliant.
EXPECTATIONS = ("target_latency", "target_qps")

_INT = re.compile(r"\+?(0[xX][0-9a-fA-F]+|[0-9]+)")
_FLOAT = re.compile(r"\+?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Entry:
    value: str
    line: int


@dataclass
class ConfFile:
    """One parsed config file: its ``model.scenario.key`` entries (the last of a key wins, as
    in LoadGen) and the name it is cited by."""

    source: str
    entries: dict[str, Entry] = field(default_factory=dict)
    text: str = ""

    def lookup(self, model: str, scenario: str, key: str) -> tuple[str, Entry] | None:
        """LoadGen's order: exact, ``*.scenario``, ``model.*``, ``*.*``; (pattern, entry)."""
        for pattern in (
            f"{model}.{scenario}.{key}",
            f"*.{scenario}.{key}",
            f"{model}.*.{key}",
            f"*.*.{key}",
        ):
            if pattern in self.entries:
                return pattern, self.entries[pattern]
        return None


def parse(text: str, source: str, *, official: bool = False) -> ConfFile:
    """Read a config file's text; a line LoadGen would skip or refuse is a SettingsError naming
    ``source``, the line number and the key."""
    conf = ConfFile(source, text=text)
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0] == "#" or (len(words) == 1 and words[0].startswith("#")):
            continue  # LoadGen's comments: '#' as a word of its own, or one '#word'
        where = f"{source}:{number}"
        if words[0].startswith("#"):
            raise SettingsError(
                f"{where}: malformed line {line.strip()!r}: LoadGen reads '#' as a comment only "
                "as a word of its own",
                hint="write '# ' with a space after it",
            )
        if any(w.startswith("#") for w in words):
            raise SettingsError(
                f"{where}: malformed line {line.strip()!r}: LoadGen allows no comment after a "
                "setting (it reads the '#' as a second value, or skips the line)",
                hint="put the comment on a line of its own",
            )
        if len(words) != 3 or words[1] != "=":
            raise SettingsError(
                f"{where}: malformed line {line.strip()!r}: expected 'model.scenario.key = value' "
                "with spaces around '='",
                hint="LoadGen skips such a line without a word; '#' starts a comment",
            )
        name, _, value = words
        parts = name.rsplit(".", 2)  # a model's name may hold dots: wan-2.2-t2v-a14b
        if len(parts) != 3 or not all(parts):
            raise SettingsError(
                f"{where}: key {name!r}: expected model.scenario.key, e.g. "
                "resnet50.Offline.target_qps ('*' for any model or scenario)"
            )
        _model, scenario, key = parts
        if scenario != "*" and scenario not in SCENARIOS:
            raise SettingsError(
                f"{where}: key {name!r}: unknown scenario {scenario!r}: expected "
                f"{', '.join(SCENARIOS)} or *"
            )
        if key not in KEYS and not (official and key in IGNORED_OFFICIAL):
            import difflib

            near = difflib.get_close_matches(key, sorted(KEYS), n=1)
            raise SettingsError(
                f"{where}: key {name!r}: unknown key {key!r}: LoadGen reads no such setting"
                + (f" (did you mean {near[0]!r}?)" if near else ""),
                hint="see docs/benchmarking.md (MLPerf configs) for the keys LoadGen reads",
            )
        if not official and key in REEF_OWNED:
            raise SettingsError(
                f"{where}: key {name!r}: Reef sets {key} itself: use {REEF_OWNED[key]}"
            )
        if not (_INT.fullmatch(value) or _FLOAT.fullmatch(value)):
            raise SettingsError(
                f"{where}: key {name!r}: value {value!r} is not a non-negative number"
            )
        conf.entries[name] = Entry(value, number)
    return conf


def number(text: str, kind: Kind) -> int | float:
    """A value as LoadGen reads it: integers with strtoull (``0x`` hexadecimal, a leading 0
    octal, digits up to a '.'), the others with strtod."""
    text = text.lstrip("+")
    if kind == "float":
        return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
    if text.lower().startswith("0x"):
        return int(text, 16)
    digits = re.match(r"[0-9]*", text)
    whole = digits.group(0) if digits else ""
    if len(whole) > 1 and whole.startswith("0"):
        octal = re.match(r"[0-7]*", whole)
        return int(octal.group(0), 8) if octal and octal.group(0) else 0
    return int(whole) if whole else 0


@functools.cache
def official_text() -> str:
    """The mlperf.conf compiled into the installed LoadGen, read from its module's bytes."""
    from importlib.util import find_spec

    spec = find_spec("mlperf_loadgen")  # the module's file, without loading it
    origin = spec.origin if spec is not None else None
    if origin is None:
        raise SettingsError("LoadGen (mlperf_loadgen) is not installed")
    data = Path(origin).read_bytes()
    start = data.find(_OFFICIAL_START)
    if start < 0:
        raise SettingsError(
            f"{origin}: no embedded mlperf.conf found in this LoadGen",
            hint="give one with --mlperf-conf FILE",
        )
    return data[start : data.index(b"\0", start)].decode()


def read_file(path: str, option: str, *, official: bool = False) -> ConfFile:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{option} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{option} {path}: cannot be read: {exc}") from exc
    return parse(text, path, official=official)


@dataclass
class Configs:
    """The config files of a run: the mlperf.conf (the official one unless ``--mlperf-conf``)
    and the user.conf, for one model key."""

    model: str
    mlperf: ConfFile
    user: ConfFile | None = None
    mlperf_path: str | None = None  # None: the official text, embedded in LoadGen

    @property
    def files(self) -> list[ConfFile]:
        return [self.mlperf] + ([self.user] if self.user else [])

    def lookup(self, scenario: str, key: str) -> tuple[int | float, str] | None:
        """(value in config units, source) as LoadGen's FromConfig calls in order set it."""
        found = None
        for conf in self.files:
            hit = conf.lookup(self.model, scenario, key)
            if hit is not None:
                found = (number(hit[1].value, file_kind(key, scenario)), conf.source)
        return found


def file_kind(key: str, scenario: str) -> Kind:
    """How LoadGen reads ``key`` from a file: Server's latency bound as a whole number of ms
    (``2.5`` is 2), though Reef's calibrated bound may hold a fraction."""
    return "int" if key == "target_latency" and scenario == "Server" else KEYS[key].kind


def load(settings: BenchSettings, model: str) -> Configs:
    """Parse the run's configs (a SettingsError for a bad one)."""
    if settings.mlperf_conf:
        mlperf = read_file(settings.mlperf_conf, "--mlperf-conf", official=True)
    else:
        mlperf = parse(official_text(), OFFICIAL, official=True)
    user = read_file(settings.user_conf, "--user-conf") if settings.user_conf else None
    return Configs(model, mlperf, user, settings.mlperf_conf)


def model_key(settings: BenchSettings, target_name: str) -> str:
    return settings.mlperf_model or target_name


# The keys every record lists for its scenario, whoever set them; others only when set.
_ALWAYS = (
    "min_duration",
    "max_duration",
    "min_query_count",
    "max_query_count",
    *SEEDS,
    "target_latency_percentile",
    "target_latency",
    "target_qps",
    "samples_per_query",
    "performance_sample_count_override",
)


def resolve(
    configs: Configs, settings: BenchSettings, exp: Expectations | None = None
) -> dict[str, ConfigSetting]:
    """The effective value of each LoadGen setting for this run, and who set it. ``exp``: what
    Reef calibrated (expectations and its short run length)."""
    from reef.meta.run import ConfigSetting

    scenario = settings.scenario
    out: dict[str, ConfigSetting] = {}
    for key, spec in KEYS.items():
        if "*" not in spec.attrs and scenario not in spec.attrs:
            continue
        if key.startswith("test05") or key == "mode":
            continue
        if key in ("ttft_latency", "tpot_latency") and not _on(configs, scenario, "use_token"):
            continue
        if key == "token_latency_scaling_factor" and not _on(configs, scenario, "infer_token"):
            continue
        found = configs.lookup(scenario, key)
        if found is not None:
            out[key] = ConfigSetting(value=found[0], source=found[1])
        elif key in _ALWAYS:
            default = _loadgen_default(spec, scenario)
            if default is not None:
                out[key] = ConfigSetting(value=default, source=LOADGEN)
    _reef_values(out, configs, settings, exp)
    return out


def _on(configs: Configs, scenario: str, which: str) -> bool:
    found = configs.lookup(scenario, f"{which}_latencies")
    return found is not None and found[0] == 1


@functools.cache
def _defaults() -> Any:
    import mlperf_loadgen as lg

    return lg.TestSettings()


def _loadgen_default(spec: Key, scenario: str) -> int | float | None:
    attr = spec.attrs.get(scenario, spec.attrs.get("*"))
    if attr is None:
        return None
    value = getattr(_defaults(), attr)
    converted = value / spec.scale
    return float(converted) if spec.kind == "float" else int(converted)


def _reef_values(
    out: dict[str, ConfigSetting],
    configs: Configs,
    settings: BenchSettings,
    exp: Expectations | None,
) -> None:
    """Reef's values and the user's options over the files' (docs/benchmarking.md)."""
    from reef.meta.run import ConfigSetting

    user = configs.user.source if configs.user else None
    scenario = settings.scenario

    def by_user(key: str) -> bool:
        return key in out and out[key].source == user

    def put(key: str, value: float, source: str) -> None:
        kind = KEYS[key].kind
        out[key] = ConfigSetting(
            value=float(value) if kind == "float" else int(value), source=source
        )

    # Seeds: the files' (official ones by default); --seed sets all three.
    if settings.seed is not None:
        for key in SEEDS:
            put(key, settings.seed, "--seed")
    # Run length: the user's options, else a user.conf, else --compliant's official values,
    # else Reef's short ones (no cap on duration or queries: LoadGen's default 0).
    if settings.duration_s is not None:
        put("min_duration", round(settings.duration_s * 1000), "--duration")
    elif not (settings.compliant or by_user("min_duration")) and exp is not None:
        put("min_duration", exp.min_duration_ms, REEF)
    if settings.queries is not None:
        put("min_query_count", settings.queries, "--queries")
    elif not (settings.compliant or by_user("min_query_count")) and exp is not None:
        put("min_query_count", exp.min_query_count, REEF)
    for key in ("max_duration", "max_query_count"):
        if not (settings.compliant or by_user(key)):
            put(key, 0, REEF)
    # What LoadGen pre-generates queries from: Reef's calibration unless a user.conf or an
    # option sets it; Server's latency bound is the file's under --compliant.
    calibrated = exp.values if exp is not None else {}
    attrs = {
        "target_latency": KEYS["target_latency"].attrs.get(scenario),
        "target_qps": KEYS["target_qps"].attrs.get(scenario),
    }
    options = {
        "target_qps": (settings.target_qps, "--target-qps"),
        "target_latency": (settings.latency_bound_ms, "--latency-bound-ms"),
    }
    for key, attr in attrs.items():
        if attr is None:
            continue
        given, option = options[key]
        if scenario == "Server" and given is not None:
            put(key, given, option)
        elif by_user(key):
            continue
        elif key == "target_latency" and scenario == "Server" and settings.compliant:
            continue  # the rule's latency bound
        elif attr in calibrated:
            put(key, calibrated[attr] / KEYS[key].scale, REEF)
    if scenario == "MultiStream":
        official = configs.lookup(scenario, "samples_per_query")
        if official is None or official[0] != settings.samples_per_query:
            put("samples_per_query", settings.samples_per_query, "--samples-per-query")


def apply(ts: Any, config: dict[str, ConfigSetting], scenario: str, loaded: set[str]) -> None:
    """Set on LoadGen's TestSettings each effective value that FromConfig did not load itself
    (Reef's, the options', and seeds from a file other than the embedded one, which LoadGen
    reads only from its own): ``loaded`` are the sources FromConfig applied."""
    for key, setting in config.items():
        spec = KEYS[key]
        if setting.source in loaded and not (spec.official_only and setting.source != OFFICIAL):
            continue
        attr = spec.attrs.get(scenario, spec.attrs.get("*"))
        if attr is None:
            continue
        current = getattr(ts, attr)
        raw = scaled(setting.value, spec)
        if spec.kind == "bool":
            value: Any = raw == 1 if spec.true_is_one else raw != 0
        else:
            value = type(current)(raw)
        setattr(ts, attr, value)


def scaled(value: int | float, spec: Key) -> int | float:
    """A config value in LoadGen's units (ns, a fraction); integers stay exact (64-bit seeds
    do not survive a float)."""
    if spec.scale == 1.0:
        return value
    if spec.kind == "int" and isinstance(value, int):
        return value * int(spec.scale)  # LoadGen multiplies integers by an integer factor
    return value * spec.scale


def from_config(ts: Any, configs: Configs, scenario: str) -> set[str]:
    """Load the configs into ``ts`` through LoadGen's own FromConfig; the sources it applied.

    The official file goes in with conf_type 0, as LoadGen loads it (seeds included). A
    user.conf goes in with conf_type 2: it parses the file exactly as conf_type 1 does, but
    conf_type 1 first loads the official file again and counts its calls in a process-wide
    counter; from the second on (Reef runs the performance and accuracy tests in one worker)
    it logs "Multiple conf files are used" as an error in the detail log. An ``--mlperf-conf``
    file also goes in with conf_type 2, and since LoadGen reads seeds (and the accuracy log
    sampling) only from its embedded text, ``apply`` sets that file's seeds itself.
    """
    model = configs.model
    loaded = set()
    if configs.mlperf_path is None:
        _check(ts.FromConfig("", model, scenario, 0), OFFICIAL)
        loaded.add(OFFICIAL)
    else:
        _check(ts.FromConfig(configs.mlperf_path, model, scenario, 2), configs.mlperf_path)
        loaded.add(configs.mlperf_path)
    if configs.user is not None:
        _check(ts.FromConfig(configs.user.source, model, scenario, 2), configs.user.source)
        loaded.add(configs.user.source)
    return loaded


def _check(code: int, source: str) -> None:
    if code != 0:
        raise SettingsError(f"{source}: LoadGen could not load it (FromConfig returned {code})")


def settle(exp: Expectations, config: dict[str, ConfigSetting], scenario: str) -> None:
    """Make ``exp`` say what LoadGen will be told, so progress and retries see the same."""
    # Reef's notes on the values it chose, where a config or an option chose instead.
    about = {
        "min_duration": "minimum duration",
        "min_query_count": "minimum query count",
        "target_qps": "target QPS",
        "target_latency": "latency bound",
    }
    for key, start in about.items():
        if key in config and config[key].source != REEF:
            exp.notes = [n for n in exp.notes if not n.startswith(start)]
    if "min_duration" in config:
        exp.min_duration_ms = int(config["min_duration"].value)
    if "min_query_count" in config:
        exp.min_query_count = int(config["min_query_count"].value)
    for key in EXPECTATIONS:
        attr = KEYS[key].attrs.get(scenario)
        if attr is not None and key in config:
            exp.values[attr] = float(config[key].value) * KEYS[key].scale


def compliance_problems(settings: BenchSettings, configs: Configs) -> list[str]:
    """Why a ``--compliant`` run would break MLPerf's rules, each naming the rule."""
    if not settings.compliant:
        return []
    problems: list[str] = []
    scenario, model = settings.scenario, configs.model
    official = parse(official_text(), OFFICIAL, official=True)

    def rule(key: str) -> tuple[int | float, str] | None:
        hit = official.lookup(model, scenario, key)
        if hit is None:
            default = _loadgen_default(KEYS[key], scenario)
            return None if default is None else (default, f"LoadGen's default {key}")
        found = number(hit[1].value, file_kind(key, scenario))
        return found, f"mlperf.conf: {hit[0]} = {hit[1].value}"

    if settings.mlperf_conf is not None and (
        Path(settings.mlperf_conf).read_text(encoding="utf-8").strip() != official_text().strip()
    ):
        problems.append(
            f"--mlperf-conf {settings.mlperf_conf}: a compliant run uses the official "
            "mlperf.conf that LoadGen embeds"
        )
    if settings.mode != "both":
        problems.append(
            f"--mode {settings.mode}: a submission needs both the performance and the accuracy "
            "run (--mode both)"
        )
    if settings.seed is not None:
        problems.append(
            f"--seed {settings.seed}: MLPerf's rules fix LoadGen's seeds to the round's "
            "official ones (mlperf.conf: *.*.qsl_rng_seed, sample_index_rng_seed, "
            "schedule_rng_seed)"
        )
    duration = rule("min_duration")
    if duration and settings.duration_s is not None and settings.duration_s * 1000 < duration[0]:
        problems.append(
            f"--duration {settings.duration_s:g}: shorter than the minimum duration of "
            f"{duration[0] / 1000:g} s ({duration[1]})"
        )
    queries = rule("min_query_count")
    if queries and settings.queries is not None and settings.queries < queries[0]:
        problems.append(
            f"--queries {settings.queries}: fewer than the minimum query count of "
            f"{queries[0]} ({queries[1]})"
        )
    count = rule("performance_sample_count_override")
    if (
        count
        and count[0]
        and settings.sample_count is not None
        and settings.sample_count < count[0]
    ):
        problems.append(
            f"--samples {settings.sample_count}: fewer than the performance sample count of "
            f"{count[0]} ({count[1]})"
        )
    bound = rule("target_latency") if scenario == "Server" else None
    if bound and settings.latency_bound_ms is not None and settings.latency_bound_ms > bound[0]:
        problems.append(
            f"--latency-bound-ms {settings.latency_bound_ms:g}: above the Server latency "
            f"bound of {bound[0]:g} ms ({bound[1]})"
        )
    if configs.user is not None:
        problems.extend(_user_conf_problems(configs, configs.user, scenario, rule, bound))
    return problems


def _user_conf_problems(
    configs: Configs, user: ConfFile, scenario: str, rule: Any, bound: Any
) -> list[str]:
    problems = []
    for key in SEEDS:
        hit = user.lookup(configs.model, scenario, key)
        if hit is not None:
            problems.append(
                f"{user.source}:{hit[1].line}: {hit[0]}: MLPerf's rules fix LoadGen's seeds "
                "to the official ones (mlperf.conf)"
            )
    for key, what in (
        ("min_duration", "minimum duration"),
        ("min_query_count", "minimum query count"),
    ):
        hit = user.lookup(configs.model, scenario, key)
        official = rule(key)
        if hit is not None and official and number(hit[1].value, "int") < official[0]:
            problems.append(
                f"{user.source}:{hit[1].line}: {hit[0]} = {hit[1].value}: lowers the "
                f"{what} below {official[0]} ({official[1]})"
            )
    hit = user.lookup(configs.model, scenario, "target_latency")
    if bound and scenario == "Server" and hit and number(hit[1].value, "int") > bound[0]:
        problems.append(
            f"{user.source}:{hit[1].line}: {hit[0]} = {hit[1].value}: above the Server latency "
            f"bound of {bound[0]:g} ms ({bound[1]})"
        )
    return problems


def check(settings: BenchSettings, target_name: str) -> Configs | None:
    """Before anything runs: the configs parse and a ``--compliant`` run breaks no rule. None
    when the run names no config and is not compliant (nothing to read but the official)."""
    configs = load(settings, model_key(settings, target_name))
    problems = compliance_problems(settings, configs)
    if problems:
        raise SettingsError(
            "--compliant: " + "; ".join(problems),
            hint="leave out --compliant for a shortened, non-compliant run",
        )
    return configs


def keep(configs: Configs, run_dir: Path) -> dict[str, str]:
    """Copy the configs used into the run's folder: artifact name -> path."""
    folder = run_dir / "mlperf"
    folder.mkdir(parents=True, exist_ok=True)
    kept = {}
    mlperf = folder / "mlperf.conf"
    mlperf.write_text(configs.mlperf.text, encoding="utf-8")
    kept["mlperf_conf"] = str(mlperf)
    if configs.user is not None:
        user = folder / "user.conf"
        user.write_text(configs.user.text, encoding="utf-8")
        kept["user_conf"] = str(user)
    return kept
