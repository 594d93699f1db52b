"""Benchmark decontamination, shared by stage 7 (github) and stage 8 (tokenize): see index.py."""

from filters.decontam.benchmarks import resolve_benchmark_files
from filters.decontam.index import EVIDENCE, BenchmarkIndex, Hit, build_index, cached_index

__all__ = ["EVIDENCE", "BenchmarkIndex", "Hit", "build_index", "cached_index", "resolve_benchmark_files"]
