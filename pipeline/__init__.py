"""Crawl-to-tokens data curation pipeline: the engine (config, stage contract, runner, engines)."""

__version__ = "0.1.0"
