"""Stage 7 config: the `github:` section (PR / issue / commit data); `benchmarks` also feeds stage 8."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config import InputList, Section

# GitHub linguist names; the report keeps "20+ mainstream languages".
MAINSTREAM = ["Python", "Java", "C", "C++", "C#", "Go", "Rust", "JavaScript", "TypeScript", "PHP",
              "Ruby", "Kotlin", "Swift", "Scala", "Shell", "Lua", "Perl", "R", "Dart", "Haskell",
              "Objective-C", "SQL", "Julia", "Elixir", "Erlang", "Clojure", "OCaml", "F#", "Fortran",
              "MATLAB", "Groovy", "PowerShell", "Vue", "Zig", "Nim", "Assembly", "CUDA", "Visual Basic .NET"]
LOCKFILES = ["package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock", "Pipfile.lock",
             "Gemfile.lock", "composer.lock", "go.sum", "uv.lock", "pdm.lock", "mix.lock", "pubspec.lock",
             "packages.lock.json", "flake.lock", "Podfile.lock", "bun.lockb", "npm-shrinkwrap.json"]


class ChatTemplate(Section):
    """How a sample becomes a chat dialogue for mid-training (user turns get loss 0)."""

    system: str | None = Field(None, description="system prompt; null: no system turn")
    system_turn: str = Field("<|im_start|>system\n{content}<|im_end|>\n", description="a system turn")
    user_turn: str = Field("<|im_start|>user\n{content}<|im_end|>\n", description="a user turn ({content})")
    assistant_turn: str = Field("<|im_start|>assistant\n{content}<|im_end|>\n", description="an assistant turn")


class DecontamSettings(Section):
    enabled: bool = Field(True, description="drop rows matching github.benchmarks; false switches the gate off explicitly")
    ngram: int = Field(13, ge=1, description="word n-gram length (CJK: characters), on lower-cased digit-masked words")
    min_words: int = Field(8, ge=1, description="benchmark texts shorter than ngram words match whole; shorter than this are ignored")
    gold_min_share: float = Field(0.5, gt=0, le=1, description="share of a gold patch's changed lines a row must hold to match it")
    evidence_sample: int = Field(20, ge=0, description="contamination hits listed in the manifest (with evidence)")


class GithubConfig(Section):
    """Stage 7: GitHub PRs, issues and commits → samples, decontaminated (filters/github/)."""

    gharchive: InputList = Field(None, description="globs of GH Archive hourly .json.gz files")
    api_dumps: InputList = Field(None, description="folders/globs of recorded GitHub API responses (.json, .jsonl(.gz))")
    repos: InputList = Field(None, description="paths of git repositories (clones, bare repos, bundles) whose history is mined")
    repo_names: dict[str, str] = Field({}, description="path → owner/name for repos (default: remote url, or a bundle's file name owner_name)")
    stars: InputList = Field(None, description="repo → stars tables (.csv repo,stars | .json {repo: n} | .parquet); API repo records count too")
    min_stars: int = Field(10, ge=0, description="repositories with fewer stars are dropped when star data is present")
    languages: list[str] = Field(MAINSTREAM, description="programming languages kept (a change touching none of them is dropped)")
    bot_patterns: list[str] = Field([r"\[bot\]$", r"(?i)[-_.]bot$", r"[a-z0-9]Bot$", r"(?i)^bot[-_]",
                                     r"(?i)^(dependabot|renovate|greenkeeper|snyk-bot|codecov|mergify|allcontributors|imgbot|"
                                     r"pre-commit-ci|github-actions|coveralls|stale|netlify|vercel|sonarcloud|codeclimate)\b"],
                                    description="author logins/names matching any regex are bots (reason bot)")
    lockfiles: list[str] = Field(LOCKFILES, description="file names whose changes alone are trivial")
    max_changed_lines: int = Field(3000, ge=1, description="changes with more added+removed lines are dropped (huge_diff)")
    max_files: int = Field(60, ge=1, description="changes touching more files are dropped (huge_diff)")
    git_refs: Literal["all", "heads"] = Field("all", description="all: every ref (branches, tags, PR refs); heads: branches only")
    commits_per_partition: int = Field(1500, ge=1, description="commits mined per partition")
    buckets: int = Field(8, ge=1, description="partitions PR/issue threads are hashed into (by repo + number)")
    validate_share: float = Field(0.05, ge=0, le=1, description="share of extracted commits re-derived with `git diff` and compared")
    validate_min: int = Field(25, ge=0, description="at least this many commits per repository are validated")
    samples: list[Literal["localization", "repair"]] = Field(["localization", "repair"], description="Agentless samples made from commits")
    repair_max_files: int = Field(3, ge=1, description="repair samples only for changes to at most this many code files (localization: at most 5)")
    repair_max_file_bytes: int = Field(60000, ge=1, description="… each at most this large before the change")
    structure_max_files: int = Field(3000, ge=1, description="repository structures with more files are cut (the rest counted)")
    chat: ChatTemplate = ChatTemplate()
    benchmarks: InputList = Field(
        ["swe-bench/swe_bench_verified.jsonl.gz", "swe-bench/swe_bench_verified_instance_ids.txt",
         "swe-bench/swe_bench_multilingual_instance_ids.txt", "swe-bench/swe_bench_full_test_instance_ids.txt",
         "swe-bench/swe_bench_lite_instance_ids.txt", "humaneval/HumanEval.jsonl.gz", "mbpp/mbpp.jsonl.gz"],
        description="benchmark files for decontamination (relative: resolved against ../shared/data/benchmarks); a missing file is an error")
    decontam: DecontamSettings = DecontamSettings()
