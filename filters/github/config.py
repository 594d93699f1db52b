"""Stage 7 config: the `github:` section (PR / issue / commit data); `benchmarks` also feeds stage 8."""

from __future__ import annotations

from pydantic import Field

from pipeline.config import InputList, Section


class GithubConfig(Section):
    """Stage 7: GitHub PRs, issues and commits (not built yet; its keys are reserved)."""

    gharchive: InputList = Field(None, description="globs of GH Archive hourly .json.gz files")
    api_dumps: InputList = Field(None, description="folders/globs of recorded GitHub API responses")
    repos: InputList = Field(None, description="paths of git repositories (clones, bare repos, bundles) whose history is mined")
    min_stars: int = Field(10, ge=0, description="repositories with fewer stars are dropped when star data is present")
    benchmarks: InputList = Field(
        ["swe-bench/swe_bench_full_test_instance_ids.txt", "swe-bench/swe_bench_verified_instance_ids.txt",
         "swe-bench/swe_bench_lite_instance_ids.txt", "humaneval/HumanEval.jsonl.gz", "mbpp/mbpp.jsonl.gz"],
        description="benchmark files for decontamination (relative: resolved against ../shared/data/benchmarks if present)")
