"""reef serve (reef-bench[serve]): any model Reef can benchmark, served over the Open Inference
Protocol v2 with adaptive batching, Prometheus metrics and online drift checks. A face, like
the CLI: it reaches Reef through reef.api."""
