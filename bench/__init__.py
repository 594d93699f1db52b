"""Benchmarks: our stages against the peers users would pick instead (see bench/harness.py)."""
