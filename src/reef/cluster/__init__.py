"""Scale-out on Dask distributed (reef-bench[cluster]): agents, the local cluster, and running a
sweep's cells as cluster tasks. A face, like the CLI: it reaches Reef through reef.api."""
