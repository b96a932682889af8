"""The facts of an MLPerf inference round that exporting and checking need.

Read from MLCommons' submission checker (``submission_checker/constants.py`` and
``configuration.py``) and ``loadgen/mlperf.conf``; only the facts carry over. Per round: the
official LoadGen seeds and the benchmarks it lists. Per benchmark (the v6.0 values; later
rounds keep them): the accuracy metric and the target a closed result must reach (in the
units ``accuracy.txt`` prints), the performance sample count, the dataset size an accuracy run
must cover, minimum query counts per scenario, the compliance audits it needs, the minimum
samples per query of a closed Offline run, and the model names ``mlperf.conf`` keys it by.

Rules every round shares: a performance run's ``min_duration`` is at least 600 s; a Server
run's target latency is at most the benchmark's bound (15 ms for resnet); the
scenarios with early stopping (SingleStream, MultiStream, Server) have no minimum query count
of their own; a truncated ``mlperf_log_accuracy.json`` is at most 10 KiB (the first and last
4 KiB of the original, with ``hash=<sha256 of the original>`` in ``accuracy.txt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reef.mlperf.layout import DEFAULT_ROUND, ROUNDS

MIN_DURATION_MS = 600_000
MAX_ACCURACY_LOG_BYTES = 10 * 1024
ACCURACY_LOG_VIEW_BYTES = 4096
EARLY_STOPPING_SCENARIOS = ("SingleStream", "MultiStream", "Server")
SYSTEM_TYPES = ("datacenter", "edge", "datacenter,edge", "edge,datacenter")
AVAILABILITIES = ("available", "preview", "rdi")
SEED_KEYS = ("qsl_rng_seed", "sample_index_rng_seed", "schedule_rng_seed")

# The system description's required fields; those also in MEANINGFUL must not be empty.
SYSTEM_REQUIRED_FIELDS = (
    "division",
    "submitter",
    "status",
    "system_name",
    "number_of_nodes",
    "host_processor_model_name",
    "host_processors_per_node",
    "host_processor_core_count",
    "host_memory_capacity",
    "host_storage_capacity",
    "host_storage_type",
    "accelerators_per_node",
    "accelerator_model_name",
    "accelerator_memory_capacity",
    "framework",
    "operating_system",
    "system_type",
    "other_software_stack",
    "host_processor_frequency",
    "host_processor_caches",
    "host_memory_configuration",
    "host_processor_interconnect",
    "host_networking",
    "host_networking_topology",
    "accelerator_frequency",
    "accelerator_host_interconnect",
    "accelerator_interconnect",
    "accelerator_interconnect_topology",
    "accelerator_memory_configuration",
    "accelerator_on-chip_memories",
    "cooling",
    "hw_notes",
    "sw_notes",
    "host_network_card_count",
    "system_type_detail",
)
SYSTEM_MEANINGFUL_FIELDS = (
    "division",
    "submitter",
    "system_type",
    "status",
    "system_name",
    "number_of_nodes",
    "host_processor_model_name",
    "host_processors_per_node",
    "host_processor_core_count",
    "host_memory_capacity",
    "host_memory_configuration",
    "host_storage_capacity",
    "host_storage_type",
    "host_networking",
    "host_network_card_count",
    "host_networking_topology",
    "accelerators_per_node",
    "accelerator_model_name",
    "accelerator_memory_capacity",
    "accelerator_host_interconnect",
    "accelerator_memory_configuration",
    "accelerator_interconnect",
    "cooling",
    "framework",
    "operating_system",
    "other_software_stack",
)
# The measurement JSON's required fields.
MEASUREMENT_REQUIRED_FIELDS = (
    "input_data_types",
    "retraining",
    "starting_weights_filename",
    "weight_data_types",
    "weight_transformations",
)

# The most a Server run's target latency may be (LoadGen's target_latency_ns), per benchmark;
# the checker holds the logged effective_target_latency_ns to it.
SERVER_LATENCY_NS = {
    "resnet": 15_000_000,
    "retinanet": 100_000_000,
    "llama3.1-8b": 20_000_000_000,
    "stable-diffusion-xl": 20_000_000_000,
    "llama2-70b-99": 20_000_000_000,
    "llama2-70b-99.9": 20_000_000_000,
    "mixtral-8x7b": 20_000_000_000,
    "llama3.1-405b": 60_000_000_000,
    "deepseek-r1": 60_000_000_000,
    "gpt-oss-120b": 60_000_000_000,
}

# Results an edge system may infer from a run of another scenario: (logged, stands for).
INFERRED_SCENARIOS = (
    ("SingleStream", "MultiStream"),
    ("MultiStream", "Offline"),
    ("SingleStream", "Offline"),
)
# TEST06's checks, and the words verify_accuracy.txt says when each passed.
TEST06_CHECKS = {
    "First token check": ("True", "Skipped"),
    "EOS check": ("True",),
    "Sample length check": ("True",),
}

# The headline figure of each scenario, as the detail log names it.
RESULT_KEYS = {
    "Offline": "result_samples_per_second",
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",
    "Server": "result_completed_samples_per_sec",
    "Interactive": "result_completed_samples_per_sec",
}


@dataclass(frozen=True)
class Round:
    name: str
    seeds: dict[str, int]
    benchmarks: tuple[str, ...]
    # Benchmarks whose audits in this round differ from Benchmark.compliance (v6.0's).
    audits: dict[str, tuple[str, ...]] = field(default_factory=dict)


_CLASSIC = ("resnet", "retinanet", "bert-99", "bert-99.9", "3d-unet-99", "3d-unet-99.9")
_LLM = ("llama2-70b-99", "llama2-70b-99.9", "mixtral-8x7b", "llama3.1-405b")

ROUND_FACTS: dict[str, Round] = {
    "v5.0": Round(
        "v5.0",
        {
            "qsl_rng_seed": 6023615788873153749,
            "sample_index_rng_seed": 15036839855038426416,
            "schedule_rng_seed": 9933818062894767841,
        },
        (*_CLASSIC, *_LLM, "stable-diffusion-xl", "rgat", "pointpainting"),
        {"llama3.1-405b": ()},  # v5.0 asked no TEST06 of it
    ),
    "v5.1": Round(
        "v5.1",
        {
            "qsl_rng_seed": 1780908523862526354,
            "sample_index_rng_seed": 14771362308971278857,
            "schedule_rng_seed": 18209322760996052031,
        },
        (
            *_CLASSIC,
            *_LLM,
            "llama3.1-8b",
            "llama3.1-8b-edge",
            "stable-diffusion-xl",
            "rgat",
            "pointpainting",
            "deepseek-r1",
            "whisper",
        ),
    ),
    "v6.0": Round(
        "v6.0",
        {
            "qsl_rng_seed": 2465351861681999779,
            "sample_index_rng_seed": 14276810075590677512,
            "schedule_rng_seed": 3936089224930324775,
        },
        (
            *_CLASSIC,
            *_LLM,
            "llama3.1-8b",
            "llama3.1-8b-edge",
            "stable-diffusion-xl",
            "rgat",
            "pointpainting",
            "deepseek-r1",
            "whisper",
            "gpt-oss-120b",
            "yolo-95",
            "yolo-99",
        ),
    ),
    # v6.1 retires retinanet, pointpainting, llama2-70b-99, mixtral-8x7b and llama3.1-405b.
    "v6.1": Round(
        "v6.1",
        {
            "qsl_rng_seed": 2085463073848966840,
            "sample_index_rng_seed": 2747215439041700203,
            "schedule_rng_seed": 16159082839903944936,
        },
        (
            "resnet",
            "bert-99",
            "bert-99.9",
            "3d-unet-99",
            "3d-unet-99.9",
            "llama2-70b-99.9",
            "llama3.1-8b",
            "llama3.1-8b-edge",
            "stable-diffusion-xl",
            "rgat",
            "deepseek-r1",
            "whisper",
            "gpt-oss-120b",
            "yolo-95",
            "yolo-99",
        ),
    ),
}
assert tuple(ROUND_FACTS) == ROUNDS


@dataclass(frozen=True)
class Benchmark:
    name: str
    targets: tuple[tuple[str, float], ...]  # (metric, the least a closed result may score)
    performance_sample_count: int
    dataset_size: int
    min_queries: dict[str, int]
    reference: str  # the reference model and dataset, in words
    conf_names: tuple[str, ...] = ()  # the model names mlperf.conf and LoadGen use
    compliance: tuple[str, ...] = ()
    offline_min_samples_per_query: int | None = None
    # The samples an accuracy run covers, where not the whole dataset (gpt-oss-120b's subset).
    accuracy_sample_count: int | None = None

    @property
    def accuracy_samples(self) -> int:
        """How many samples an accuracy run must cover."""
        return self.accuracy_sample_count or self.dataset_size


_EDGE_DC = {"SingleStream": 1024, "MultiStream": 270336, "Server": 270336, "Offline": 1}
_SS_OFF = {"SingleStream": 1024, "Offline": 1}
_LLM_Q = {"SingleStream": 1024, "Server": 270336, "Offline": 1}

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "resnet",
            (("acc", 76.46 * 0.99),),
            1024,
            50000,
            _EDGE_DC,
            "ResNet-50 v1.5 on the ImageNet 2012 validation set (50000 images)",
            ("resnet50", "resnet"),
            ("TEST01", "TEST04"),
            24576,
        ),
        Benchmark(
            "retinanet",
            (("mAP", 37.55 * 0.99),),
            64,
            24781,
            _EDGE_DC,
            "RetinaNet (ResNeXt50 FPN) on the OpenImages MLPerf subset (24781 images)",
            ("retinanet",),
            ("TEST01",),
            24576,
        ),
        Benchmark(
            "bert-99",
            (("F1", 90.874 * 0.99),),
            10833,
            10833,
            _SS_OFF,
            "BERT-Large on SQuAD v1.1 (10833 questions)",
            ("bert",),
            ("TEST01",),
            10833,
        ),
        Benchmark(
            "bert-99.9",
            (("F1", 90.874 * 0.999),),
            10833,
            10833,
            _SS_OFF,
            "BERT-Large on SQuAD v1.1 (10833 questions)",
            ("bert",),
            ("TEST01",),
            10833,
        ),
        Benchmark(
            "3d-unet-99",
            (("DICE", 0.86170 * 0.99),),
            43,
            43,
            _SS_OFF,
            "3D U-Net on KiTS 2019 (43 volumes)",
            ("3d-unet",),
            ("TEST01",),
            43,
        ),
        Benchmark(
            "3d-unet-99.9",
            (("DICE", 0.86170 * 0.999),),
            43,
            43,
            _SS_OFF,
            "3D U-Net on KiTS 2019 (43 volumes)",
            ("3d-unet",),
            ("TEST01",),
            43,
        ),
        Benchmark(
            "rgat",
            (("acc", 0.7286 * 0.99),),
            788379,
            788379,
            _SS_OFF,
            "R-GAT on IGBH (788379 nodes)",
            ("rgat",),
            ("TEST01",),
            788379,
        ),
        Benchmark(
            "pointpainting",
            (("mAP", 0.5425 * 0.999),),
            1024,
            39987,
            {"SingleStream": 1024},
            "PointPainting on Waymo Open Dataset (39987 frames)",
            ("pointpainting",),
            ("TEST01", "TEST04"),
            6636,
        ),
        Benchmark(
            "whisper",
            (("ACCURACY", (100.0 - 2.0671) * 0.99),),
            1633,
            1633,
            _SS_OFF,
            "Whisper Large v3 on LibriSpeech (1633 utterances)",
            ("whisper",),
            ("TEST01",),
            1633,
        ),
        Benchmark(
            "yolo-95",
            (("mAP", 53.4 * 0.95),),
            64,
            1525,
            {"SingleStream": 1024, "MultiStream": 270336, "Offline": 1},
            "YOLO on the COCO MLPerf subset (1525 images)",
            ("yolo",),
            ("TEST01",),
            1525,
        ),
        Benchmark(
            "yolo-99",
            (("mAP", 53.4 * 0.99),),
            64,
            1525,
            {"SingleStream": 1024, "MultiStream": 270336, "Offline": 1},
            "YOLO on the COCO MLPerf subset (1525 images)",
            ("yolo",),
            ("TEST01",),
            1525,
        ),
        Benchmark(
            "stable-diffusion-xl",
            (("CLIP_SCORE", 31.68631873), ("FID_SCORE", 23.01085758)),
            5000,
            5000,
            _LLM_Q,
            "Stable Diffusion XL on COCO 2014 captions (5000 prompts)",
            ("stable-diffusion-xl",),
            ("TEST01", "TEST04"),
            5000,
        ),
        Benchmark(
            "llama2-70b-99",
            (
                ("ROUGE1", 44.4312 * 0.99),
                ("ROUGE2", 22.0352 * 0.99),
                ("ROUGEL", 28.6162 * 0.99),
                ("TOKENS_PER_SAMPLE", 294.45 * 0.9),
            ),
            24576,
            24576,
            _LLM_Q,
            "Llama 2 70B chat on OpenOrca (24576 samples)",
            ("llama2-70b",),
            ("TEST06",),
            24576,
        ),
        Benchmark(
            "llama2-70b-99.9",
            (
                ("ROUGE1", 44.4312 * 0.999),
                ("ROUGE2", 22.0352 * 0.999),
                ("ROUGEL", 28.6162 * 0.999),
                ("TOKENS_PER_SAMPLE", 294.45 * 0.9),
            ),
            24576,
            24576,
            _LLM_Q,
            "Llama 2 70B chat on OpenOrca (24576 samples)",
            ("llama2-70b",),
            ("TEST06",),
            24576,
        ),
        Benchmark(
            "mixtral-8x7b",
            (
                ("ROUGE1", 45.5989 * 0.99),
                ("ROUGE2", 23.3526 * 0.99),
                ("ROUGEL", 30.4608 * 0.99),
                ("TOKENS_PER_SAMPLE", 144.84 * 0.9),
                ("gsm8k_accuracy", 73.66 * 0.99),
                ("mbxp_accuracy", 60.16 * 0.99),
            ),
            15000,
            15000,
            _LLM_Q,
            "Mixtral 8x7B on OpenOrca, GSM8K and MBXP (15000 samples)",
            ("mixtral-8x7b",),
            ("TEST06",),
            15000,
        ),
        Benchmark(
            "llama3.1-405b",
            (
                ("ROUGEL", 21.6666 * 0.99),
                ("exact_match", 90.1335 * 0.99),
                ("TOKENS_PER_SAMPLE", 684.68 * 0.9),
            ),
            8313,
            8313,
            _LLM_Q,
            "Llama 3.1 405B on its MLPerf long-context set (8313 samples)",
            ("llama3_1-405b",),
            ("TEST06",),
            8313,
        ),
        Benchmark(
            "llama3.1-8b",
            (
                ("ROUGE1", 38.7792 * 0.99),
                ("ROUGE2", 15.9075 * 0.99),
                ("ROUGEL", 24.4957 * 0.99),
                ("ROUGELSUM", 35.793 * 0.99),
                ("GEN_LEN", 8167644 * 0.9),
            ),
            13368,
            13368,
            _LLM_Q,
            "Llama 3.1 8B on CNN/DailyMail (13368 articles)",
            ("llama3_1-8b",),
            ("TEST06",),
            13368,
        ),
        Benchmark(
            "llama3.1-8b-edge",
            (
                ("ROUGE1", 39.06 * 0.99),
                ("ROUGE2", 16.1147 * 0.99),
                ("ROUGEL", 24.6375 * 0.99),
                ("ROUGELSUM", 36.124 * 0.99),
                ("GEN_LEN", 3051113 * 0.9),
            ),
            5000,
            5000,
            _SS_OFF,
            "Llama 3.1 8B on CNN/DailyMail, the edge subset (5000 articles)",
            ("llama3_1-8b-edge",),
            (),
            5000,
        ),
        Benchmark(
            "deepseek-r1",
            (("exact_match", 0.99 * 81.3582), ("TOKENS_PER_SAMPLE", 0.9 * 3886.2274)),
            4388,
            4388,
            _LLM_Q,
            "DeepSeek-R1 on its MLPerf reasoning set (4388 samples)",
            ("deepseek-r1",),
            ("TEST06",),
            4388,
        ),
        Benchmark(
            "gpt-oss-120b",
            (("exact_match", 83.13 * 0.99),),
            6396,
            6396,
            _LLM_Q,
            "gpt-oss-120b on its MLPerf reasoning set (6396 samples; 4395 for accuracy)",
            ("gpt-oss-120b",),
            ("TEST07", "TEST09"),
            6396,
            4395,
        ),
    )
}

# Accuracy lines of accuracy.txt, per metric: the value is the first group. Reef's own
# patterns, matching what the reference accuracy scripts print.
ACCURACY_PATTERNS = {
    "acc": r"^(?:\{\"accuracy|accuracy)[\": ]*=?\s*([\d.]+)",
    "mAP": r".*(?:mAP=|'Total':)\s*([\d.]+)",
    "F1": r"^\{[\"']exact_match[\"']:\s*[\d.]+,\s*[\"']f1[\"']:\s*([\d.]+)\}",
    "DICE": r"Accuracy:\s*mean\s*=\s*([\d.]+)",
    "ACCURACY": r"Word Error Rate:.*, accuracy=([0-9.]+)%",
    "ROUGE1": r".*'rouge1':\s+'?([\d.]+)'?",
    "ROUGE2": r".*'rouge2':\s+'?([\d.]+)'?",
    "ROUGEL": r".*'rougeL':\s+'?([\d.]+)'?",
    "ROUGELSUM": r".*'rougeLsum':\s+'?([\d.]+)'?",
    "GEN_LEN": r".*'gen_len':\s([\d.]+)",
    "TOKENS_PER_SAMPLE": r".*'tokens_per_sample':\s([\d.]+)",
    "gsm8k_accuracy": r".*'gsm8k':\s([\d.]+)",
    "mbxp_accuracy": r".*'mbxp':\s([\d.]+)",
    "CLIP_SCORE": r".*'CLIP_SCORE':\s+'?([\d.]+)",
    "FID_SCORE": r".*'FID_SCORE':\s+'?([\d.]+)",
    "exact_match": r".*'exact_match':\s([\d.]+)",
}
HASH_PATTERN = r"^hash=([0-9A-Za-z]+)$"
# The most a closed result may score (a generation neither too short nor too long, SDXL's
# images neither better nor worse than the reference's), per benchmark: (metric, limit).
ACCURACY_UPPER_LIMITS: dict[str, tuple[tuple[str, float], ...]] = {
    "stable-diffusion-xl": (("CLIP_SCORE", 31.81331801), ("FID_SCORE", 23.95007626)),
    "llama2-70b-99": (("TOKENS_PER_SAMPLE", 294.45 * 1.1),),
    "llama2-70b-99.9": (("TOKENS_PER_SAMPLE", 294.45 * 1.1),),
    "mixtral-8x7b": (("TOKENS_PER_SAMPLE", 145.9 * 1.1),),
    "llama3.1-405b": (("TOKENS_PER_SAMPLE", 684.68 * 1.1),),
    "llama3.1-8b": (("GEN_LEN", 8167644 * 1.1),),
    "llama3.1-8b-edge": (("GEN_LEN", 3051113 * 1.1),),
    "deepseek-r1": (("TOKENS_PER_SAMPLE", 1.1 * 3886.2274),),
    "gpt-oss-120b": (("TOKENS_PER_SAMPLE", 1.1 * 9999),),
}


# The benchmarks whose closed and network performance runs must issue in equal-issue mode:
# each query's samples a permutation of the whole set, so that samples of very different cost
# are issued equally (mlperf.conf's sample_concatenate_permutation = 1 for their models).
# MLCommons' submission checker's list, less gptj, no benchmark of Reef's rounds; mlperf.conf
# sets it for gpt-oss-120b too, which that list does not require.
EQUAL_ISSUE = frozenset(
    {
        "3d-unet-99",
        "3d-unet-99.9",
        "llama2-70b-99",
        "llama2-70b-99.9",
        "mixtral-8x7b",
        "llama3.1-405b",
        "llama3.1-8b",
        "llama3.1-8b-edge",
        "deepseek-r1",
        "rgat",
        "whisper",
    }
)


def round_facts(name: str) -> Round:
    from reef.errors import SettingsError

    try:
        return ROUND_FACTS[name]
    except KeyError:
        raise SettingsError(
            f"unknown MLPerf round {name!r}", hint="known rounds: " + ", ".join(ROUNDS)
        ) from None


def benchmark(name: str) -> Benchmark:
    from reef.errors import SettingsError

    try:
        return BENCHMARKS[name]
    except KeyError:
        raise SettingsError(
            f"unknown MLPerf benchmark {name!r}",
            hint="known benchmarks: " + ", ".join(sorted(BENCHMARKS)),
        ) from None


def benchmark_for_model(mlperf_model: str) -> str | None:
    """The benchmark a LoadGen/mlperf.conf model name (``resnet50``) belongs to, when one
    benchmark claims it alone; the name itself when it is a benchmark."""
    if mlperf_model in BENCHMARKS:
        return mlperf_model
    owners = [b.name for b in BENCHMARKS.values() if mlperf_model in b.conf_names]
    return owners[0] if len(owners) == 1 else None


def round_for_seeds(seeds: dict[str, int]) -> str | None:
    """The round whose official seeds these are, if any."""
    for name, facts in ROUND_FACTS.items():
        if all(seeds.get(k) == v for k, v in facts.seeds.items()):
            return name
    return None


def audits(bench: Benchmark, round_: Round) -> tuple[str, ...]:
    """The compliance audits a closed result of ``bench`` needs in ``round_``."""
    return round_.audits.get(bench.name, bench.compliance)


def min_query_count(bench: Benchmark, scenario: str) -> int | None:
    """The least ``min_query_count`` a run of ``scenario`` may set; None where early
    stopping decides instead (or the benchmark sets none)."""
    if scenario in EARLY_STOPPING_SCENARIOS:
        return None
    return bench.min_queries.get(scenario)


__all__ = [
    "ACCURACY_PATTERNS",
    "BENCHMARKS",
    "DEFAULT_ROUND",
    "EQUAL_ISSUE",
    "MIN_DURATION_MS",
    "ROUND_FACTS",
    "Benchmark",
    "Round",
    "audits",
    "benchmark",
    "benchmark_for_model",
    "min_query_count",
    "round_facts",
    "round_for_seeds",
]
