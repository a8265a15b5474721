"""Scale: pair-file readers and writers, streaming checkpointed scoring, Dask, and the benchmark suite."""
