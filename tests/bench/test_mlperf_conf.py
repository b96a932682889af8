"""MLPerf's config files: the grammar, LoadGen's lookup order, provenance, --compliant."""

from __future__ import annotations

from pathlib import Path

import mlperf_loadgen as lg
import pytest

from reef.bench import loadgen, mlperf_conf
from reef.bench.calibrate import Expectations
from reef.bench.mlperf_conf import KEYS, ConfFile, Configs, parse
from reef.errors import SettingsError
from reef.meta.settings import BenchSettings

OFFICIAL_SEEDS = {
    "qsl_rng_seed": 2085463073848966840,
    "sample_index_rng_seed": 2747215439041700203,
    "schedule_rng_seed": 16159082839903944936,
}


def configs(user: str | None = None, model: str = "m") -> Configs:
    official = parse(mlperf_conf.official_text(), "mlperf.conf", official=True)
    conf = parse(user, "user.conf") if user is not None else None
    return Configs(model, official, conf)


# --- the grammar ------------------------------------------------------------------------------


def test_comments_blank_lines_and_dotted_models() -> None:
    conf = parse(
        "# a comment\n\n#note\n  m.Offline.target_qps = 12.5\n"
        "wan-2.2-t2v.*.min_query_count = 7\nm.Offline.target_qps = 13\n",
        "u.conf",
    )
    # The last line of a key wins, as in LoadGen; a model's name may hold dots.
    assert conf.entries["m.Offline.target_qps"].value == "13"
    assert conf.entries["m.Offline.target_qps"].line == 6
    assert conf.lookup("wan-2.2-t2v", "Server", "min_query_count") is not None


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("m.Offline.target_qps=3", "malformed line 'm.Offline.target_qps=3'"),
        ("m.Offline.target_qps = 3 # why", "no comment after a setting"),
        ("#this is a comment", "'#' as a comment only as a word of its own"),
        ("m.Offline.target_qps 3", "malformed line"),
        ("m.Offline.target_qps =", "malformed line"),
        ("Offline.target_qps = 3", "key 'Offline.target_qps': expected model.scenario.key"),
        ("m.Batch.target_qps = 3", "unknown scenario 'Batch'"),
        ("m.Offline.target_qps = fast", "value 'fast' is not a non-negative number"),
        ("m.Offline.target_qps = -5", "value '-5' is not a non-negative number"),
        ("m.*.min_querry_count = 5", "unknown key 'min_querry_count': LoadGen reads no such"),
        ("m.*.min_querry_count = 5", "(did you mean 'min_query_count'?)"),
        ("*.Server.target_duration = 0", "unknown key 'target_duration'"),
        ("m.*.mode = 2", "Reef sets mode itself: use --mode"),
        ("m.*.samples_per_query = 4", "use --samples-per-query"),
    ],
)
def test_a_line_loadgen_would_skip_or_refuse_is_refused(line: str, says: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse(f"# first\n{line}\n", "/x/user.conf")
    assert str(info.value.message).startswith("/x/user.conf:2: ")
    assert says in info.value.message


def test_the_official_file_may_hold_what_loadgen_ignores() -> None:
    conf = parse("*.Server.target_duration = 0\n", "mlperf.conf", official=True)
    assert "*.Server.target_duration" in conf.entries


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [("0x10", "int", 16), ("010", "int", 8), ("1.9", "int", 1), ("1e3", "float", 1000.0)],
)
def test_values_read_as_loadgen_reads_them(text: str, kind: str, value: float) -> None:
    assert mlperf_conf.number(text, kind) == value  # type: ignore[arg-type]


# --- the official file -------------------------------------------------------------------------


def test_the_official_file_is_read_from_loadgen_itself() -> None:
    text = mlperf_conf.official_text()
    assert text.startswith("# The format of this config file")
    official = parse(text, "mlperf.conf", official=True)
    for key, seed in OFFICIAL_SEEDS.items():
        assert official.lookup("anything", "Offline", key) == (
            f"*.*.{key}",
            official.entries[f"*.*.{key}"],
        )
        assert int(official.entries[f"*.*.{key}"].value) == seed


# --- lookup order --------------------------------------------------------------------------------


def test_lookup_order_exact_then_scenario_then_model_then_any() -> None:
    lines = {
        "m.Server.min_query_count": "1",
        "*.Server.min_query_count": "2",
        "m.*.min_query_count": "3",
        "*.*.min_query_count": "4",
    }
    for expected in ("1", "2", "3", "4"):
        conf = parse("".join(f"{k} = {v}\n" for k, v in lines.items()), "u")
        hit = conf.lookup("m", "Server", "min_query_count")
        assert hit is not None and hit[1].value == expected
        lines.pop(next(iter(lines)))
    assert ConfFile("u").lookup("m", "Server", "min_query_count") is None


def test_the_lookup_agrees_with_loadgens_fromconfig(tmp_path: Path) -> None:
    text = (
        "*.*.min_query_count = 0x20\n*.Server.target_latency = 7.9\nm.*.min_duration = 1500\n"
        "m.SingleStream.target_latency_percentile = 97.5\nother.*.min_duration = 9\n"
        "*.Offline.target_qps = 123.25\nm.*.performance_sample_count_override = 010\n"
    )
    file = tmp_path / "user.conf"
    file.write_text(text)
    conf = parse(text, str(file))
    for scenario in ("SingleStream", "Server", "Offline"):
        ts = lg.TestSettings()
        assert ts.FromConfig(str(file), "m", scenario, 2) == 0
        keys = ("min_query_count", "min_duration", "target_latency", "target_latency_percentile")
        for key in (*keys, "target_qps", "performance_sample_count_override"):
            spec = KEYS[key]
            attr = spec.attrs.get(scenario, spec.attrs.get("*"))
            hit = conf.lookup("m", scenario, key)
            if attr is None or hit is None:
                continue
            kind = mlperf_conf.file_kind(key, scenario)
            mine = mlperf_conf.scaled(mlperf_conf.number(hit[1].value, kind), spec)
            assert getattr(ts, attr) == pytest.approx(mine), (scenario, key)


def test_the_official_lookup_agrees_with_loadgen() -> None:
    official = parse(mlperf_conf.official_text(), "mlperf.conf", official=True)
    for model, scenario in [("resnet50", "Server"), ("resnet50", "Offline"), ("x", "MultiStream")]:
        ts = lg.TestSettings()
        assert ts.FromConfig("", model, scenario, 0) == 0
        for key in ("min_duration", "min_query_count", "qsl_rng_seed", "schedule_rng_seed",
                    "target_latency", "performance_sample_count_override"):  # fmt: skip
            spec = KEYS[key]
            attr = spec.attrs.get(scenario, spec.attrs.get("*"))
            hit = official.lookup(model, scenario, key)
            if attr is None or hit is None:
                continue
            value = mlperf_conf.scaled(
                mlperf_conf.number(hit[1].value, mlperf_conf.file_kind(key, scenario)), spec
            )
            assert getattr(ts, attr) == value, (model, scenario, key)


# --- provenance ----------------------------------------------------------------------------------


def exp_for(**values: float) -> Expectations:
    return Expectations(values=dict(values), min_duration_ms=10_000, min_query_count=64)


def test_a_plain_run_official_seeds_reef_run_length_and_calibration() -> None:
    settings = BenchSettings()
    config = mlperf_conf.resolve(
        configs(), settings, exp_for(single_stream_expected_latency_ns=2e5)
    )
    assert {k: config[k].value for k in OFFICIAL_SEEDS} == OFFICIAL_SEEDS
    assert {config[k].source for k in OFFICIAL_SEEDS} == {"mlperf.conf"}
    assert (config["min_duration"].value, config["min_duration"].source) == (10_000, "reef")
    assert (config["min_query_count"].value, config["min_query_count"].source) == (64, "reef")
    assert (config["target_latency"].value, config["target_latency"].source) == (0.2, "reef")
    assert config["target_latency_percentile"].source == "mlperf.conf"
    assert config["target_latency_percentile"].value == 90
    assert config["performance_sample_count_override"].source == "loadgen"
    assert "target_qps" not in config  # not a SingleStream setting


def test_options_and_a_user_conf_win_and_say_so() -> None:
    settings = BenchSettings(scenario="Server", seed=3, duration_s=2, target_qps=50)
    conf = configs("*.Server.min_query_count = 500\n*.*.target_latency = 20\n")
    config = mlperf_conf.resolve(conf, settings, exp_for(server_target_qps=9.0))
    assert {config[k].source for k in OFFICIAL_SEEDS} == {"--seed"}
    assert {config[k].value for k in OFFICIAL_SEEDS} == {3}
    assert (config["min_duration"].value, config["min_duration"].source) == (2000, "--duration")
    assert (config["min_query_count"].value, config["min_query_count"].source) == (500, "user.conf")
    assert (config["target_qps"].value, config["target_qps"].source) == (50.0, "--target-qps")
    assert (config["target_latency"].value, config["target_latency"].source) == (20, "user.conf")


def test_compliant_runs_keep_the_official_run_length_and_bound() -> None:
    settings = BenchSettings(scenario="Server", compliant=True)
    config = mlperf_conf.resolve(
        configs(model="resnet50"),
        settings,
        exp_for(server_target_qps=9.0, server_target_latency_ns=4e6),
    )
    assert (config["min_duration"].value, config["min_duration"].source) == (600_000, "mlperf.conf")
    assert (config["target_latency"].value, config["target_latency"].source) == (15, "mlperf.conf")
    assert config["min_query_count"].source == "loadgen"  # LoadGen's 100: no file sets it
    assert config["target_qps"].source == "reef"  # the load is the submitter's to choose


def test_settling_a_compliant_server_run_drops_the_calibrated_bounds_note() -> None:
    """The note on a calibrated latency bound is printed after settling: a --compliant run
    is told mlperf.conf's bound, and says nothing of the one it does not use."""
    from reef.bench.calibrate import expectations
    from reef.meta.run import Calibration

    cal = Calibration(
        warmup_queries=50, latency_p50_ms=1.0, throughput_qps=500.0, derived={"latency_p99_ms": 4.0}
    )
    settings = BenchSettings(scenario="Server", compliant=True, target_qps=20)
    exp = expectations(settings, cal)
    assert any(n.startswith("latency bound 40 ms calibrated") for n in exp.notes)
    loadgen.settle(settings, exp)
    assert not any(n.startswith("latency bound") for n in exp.notes)
    assert exp.values["server_target_latency_ns"] == pytest.approx(10e6)  # *.Server: 10 ms
    assert exp.config["target_latency"].source == "mlperf.conf"
    plain = BenchSettings(scenario="Server", target_qps=20)
    exp = expectations(plain, cal)
    loadgen.settle(plain, exp)
    assert any(n.startswith("latency bound 40 ms calibrated") for n in exp.notes)
    assert exp.values["server_target_latency_ns"] == pytest.approx(40e6)


def test_test_settings_load_through_fromconfig_and_apply_reefs_values(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    user.write_text("m.SingleStream.target_latency_percentile = 99\n*.*.qsl_rng_seed = 42\n")
    settings = BenchSettings(user_conf=str(user), mlperf_model="m", queries=77)
    exp = exp_for(single_stream_expected_latency_ns=3e5)
    ts = loadgen.test_settings(settings, exp, "performance")
    assert ts.single_stream_target_latency_percentile == pytest.approx(0.99)
    assert (ts.min_duration_ms, ts.min_query_count) == (10_000, 77)
    assert ts.single_stream_expected_latency_ns == pytest.approx(3e5)
    # LoadGen reads seeds from its embedded file only: Reef applies a user.conf's itself.
    assert ts.qsl_rng_seed == 42 and exp.config["qsl_rng_seed"].source == str(user)
    assert ts.schedule_rng_seed == OFFICIAL_SEEDS["schedule_rng_seed"]
    assert exp.min_query_count == 77  # what the progress and the record say


def test_64_bit_seeds_set_by_reef_stay_exact(tmp_path: Path) -> None:
    mine = tmp_path / "mlperf.conf"
    mine.write_text("*.*.qsl_rng_seed = 16159082839903944937\n")
    settings = BenchSettings(mlperf_conf=str(mine), mlperf_model="m")
    ts = loadgen.test_settings(settings, exp_for(single_stream_expected_latency_ns=3e5), "accuracy")
    assert ts.qsl_rng_seed == 16159082839903944937


def test_an_mlperf_conf_of_ones_own_replaces_the_official_seeds_included(tmp_path: Path) -> None:
    mine = tmp_path / "mlperf.conf"
    mine.write_text("*.*.qsl_rng_seed = 11\n*.*.schedule_rng_seed = 12\n*.*.min_duration = 5\n")
    settings = BenchSettings(mlperf_conf=str(mine), mlperf_model="m")
    exp = exp_for(single_stream_expected_latency_ns=3e5)
    ts = loadgen.test_settings(settings, exp, "performance")
    assert (ts.qsl_rng_seed, ts.schedule_rng_seed) == (11, 12)
    assert exp.config["qsl_rng_seed"].source == str(mine)
    assert exp.config["sample_index_rng_seed"].source == "loadgen"
    assert ts.min_duration_ms == 10_000  # an mlperf.conf's run length is shortened too


# --- --compliant -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"duration_s": 1}, "--duration 1: shorter than the minimum duration of 600 s "
         "(mlperf.conf: *.SingleStream.min_duration = 600000)"),
        ({"seed": 3}, "--seed 3: MLPerf's rules fix LoadGen's seeds"),
        ({"mode": "performance"}, "--mode performance: a submission needs both"),
        ({"queries": 5}, "--queries 5: fewer than the minimum query count of 100 "
         "(LoadGen's default min_query_count)"),
    ],
)  # fmt: skip
def test_compliant_refuses_each_shortcut_naming_the_rule(values: dict, says: str) -> None:
    settings = BenchSettings(compliant=True, **values)
    with pytest.raises(SettingsError) as info:
        mlperf_conf.check(settings, "digits-cnn")
    assert says in info.value.message


def test_compliant_refuses_fewer_samples_than_the_benchmark_needs() -> None:
    settings = BenchSettings(compliant=True, scenario="Offline", mlperf_model="resnet50",
                             sample_count=100)  # fmt: skip
    with pytest.raises(SettingsError, match=r"--samples 100: fewer than the performance sample"):
        mlperf_conf.check(settings, "digits-cnn")


def test_compliant_refuses_a_user_conf_that_cuts_corners(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    user.write_text("*.*.schedule_rng_seed = 1\n*.SingleStream.min_duration = 60000\n")
    with pytest.raises(SettingsError) as info:
        mlperf_conf.check(BenchSettings(compliant=True, user_conf=str(user)), "m")
    assert f"{user}:1: *.*.schedule_rng_seed: MLPerf's rules fix" in info.value.message
    assert f"{user}:2: *.SingleStream.min_duration = 60000: lowers the minimum duration" in (
        info.value.message
    )


def test_compliant_takes_longer_runs_and_more_queries(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    user.write_text("*.SingleStream.min_duration = 700000\n")
    settings = BenchSettings(compliant=True, user_conf=str(user), duration_s=900, queries=1000)
    assert mlperf_conf.check(settings, "m") is not None


def test_a_missing_file_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"--user-conf /no/such.conf: no such file"):
        mlperf_conf.check(BenchSettings(user_conf="/no/such.conf"), "m")


def test_older_records_settings_still_load() -> None:
    old = BenchSettings.model_validate({"duration_s": 10.0, "seed": 0, "scenario": "Offline"})
    assert old.seed == 0 and old.user_conf is None and old.compliant is False
