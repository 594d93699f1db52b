"""Offline sentence embedders and their persisted float16 vectors (used by stage 5)."""
