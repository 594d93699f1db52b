"""Stage 7's global steps (run by prepare(), each resumable by its marker in _work/steps/).

1. sources: every GH Archive file and API dump is read on the workers into thread fragments,
   written hashed by (repo, number) into _work/fragments/bucket=B/ (so a bucket partition joins a
   thread seen in any file), API commits into _work/api_commits/; per-file counts come back.
2. repos: every git repository is opened (a bundle cloned once into _work/git/), named, listed
   (its commits and the sample the validation pass re-derives), and searched for the PRs of
   benchmark instances: their merge commit, the commits of their branch, the issues those commits
   close. With the PR threads' own "fixes #N", these links feed the decontamination index.
3. stars: repo → stars from github.stars tables, API repository records and event payloads.
"""

from __future__ import annotations

import csv
import io as _io
import json
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from filters.decontam.patches import closing_refs, pull_ref
from filters.github import api, gharchive, git
from filters.github.objects import FRAGMENT
from pipeline import io
from pipeline.errors import InputError
from pipeline.tables import part_name

API_COMMIT = pa.schema([("repo", pa.string()), ("sha", pa.string()), ("message", pa.string()),
                        ("author", pa.string()), ("author_login", pa.string()), ("author_date", pa.string()),
                        ("parents", pa.list_(pa.string())), ("source", pa.string()),
                        ("files", pa.list_(pa.struct([("path", pa.string()), ("status", pa.string()),
                                                      ("patch", pa.string())])))])


def bucket_of(repo: str, number: int, buckets: int) -> int:
    return xxhash.xxh64_intdigest(f"{repo.lower()}#{number}".encode()) % buckets


def read_source(work: str, buckets: int, item: tuple[int, str, str]) -> dict:
    """One input file → fragment files per bucket (+ API commits); returns its counts and stars."""
    index, kind, path = item
    if kind == "gharchive":
        fragments, stats = gharchive.read_archive(path)
        counts, problems, commits, stars = dict(stats.events), dict(stats.problems), [], {}
    else:
        fragments, commits, stars, records = api.read_dump(path)
        counts, problems = dict(records), {}
    by_bucket: dict[int, list[dict]] = {}
    for fragment in fragments:
        by_bucket.setdefault(bucket_of(fragment["repo"], fragment["number"], buckets), []).append(fragment)
    for bucket, rows in sorted(by_bucket.items()):
        io.write_parquet_atomic(io.join(work, "fragments", f"bucket={bucket}", part_name(index)),
                                pa.Table.from_pylist(rows, schema=FRAGMENT))
    if commits:
        io.write_parquet_atomic(io.join(work, "api_commits", part_name(index)),
                                pa.Table.from_pylist(commits, schema=API_COMMIT))
    for fragment in fragments:  # stars seen in event payloads (a PR's base repository record)
        if fragment["stars"] is not None:
            stars[fragment["repo"]] = max(stars.get(fragment["repo"], 0), fragment["stars"])
    return {"kind": kind, "path": path, "counts": counts, "problems": problems, "stars": stars,
            "fragments": len(fragments), "commits": len(commits)}


def read_star_table(path: str) -> dict[str, int]:
    """repo → stars from .csv (repo,stars), .json ({repo: n} or [{repo, stars}]), .jsonl or .parquet."""
    name = path.removesuffix(".gz")
    try:
        if name.endswith(".parquet"):
            table = io.read_parquet(path)
            repo = next(c for c in ("repo", "full_name", "repo_name") if c in table.column_names)
            star = next(c for c in ("stars", "stargazers_count", "stargazers") if c in table.column_names)
            return {r: int(s) for r, s in zip(table.column(repo).to_pylist(), table.column(star).to_pylist(), strict=True)
                    if r and s is not None}
        with io.open_input(path) as fh:
            raw = fh.read()
        text = (__import__("gzip").decompress(raw) if path.endswith(".gz") else raw).decode("utf-8")
        if name.endswith(".csv"):
            rows = list(csv.DictReader(_io.StringIO(text)))
        elif name.endswith(".jsonl"):
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
            rows = [{"repo": k, "stars": v} for k, v in data.items()] if isinstance(data, dict) else data
        out = {}
        for row in rows:
            repo = row.get("repo") or row.get("full_name") or row.get("repo_name")
            star = row.get("stars", row.get("stargazers_count"))
            if repo and star not in (None, ""):
                out[repo] = int(star)
        return out
    except (StopIteration, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise InputError(f"github.stars: {path} is not a repo→stars table ({exc})") from None


def mine_repository(path: str, work: str, names: dict[str, str], refs: str, share: float, minimum: int,
                    seed: int, instances: dict[str, str]) -> dict:
    """A repository's name, commits, validation sample and benchmark PR links."""
    repo_dir = git.open_repository(path, io.join(work, "git"))
    name = git.repo_name(path, repo_dir, names)
    shas = git.list_commits(repo_dir, refs)
    order = sorted(shas, key=lambda s: xxhash.xxh64_intdigest(f"{seed}:validate:{s}".encode()))
    validate = sorted(order[:max(minimum, round(share * len(shas)))])
    links, commits = _benchmark_links(repo_dir, name, shas, instances)
    return {"path": path, "git_dir": repo_dir, "repo": name, "commits": shas, "validate": validate,
            "links": links, "instance_commits": commits}


def _benchmark_links(repo_dir: str, name: str, shas: list[str], instances: dict[str, str]):
    """For this repository's benchmark PRs: (repo, issue, instance) links and (sha, instance) commits."""
    prefix = name.replace("/", "__").lower() + "-"
    wanted = {int(k[len(prefix):]): v for k, v in instances.items() if k.startswith(prefix)}
    if not wanted:
        return [], []
    subjects = git.git(repo_dir, "log", "--all", "--format=%H%x00%P%x00%s").decode(errors="replace")
    links, commits = [], []
    for line in subjects.splitlines():
        sha, parents, subject = line.split("\x00", 2)
        number = pull_ref(subject)
        if number not in wanted:
            continue
        instance = f"{prefix}{number}"
        parents = parents.split()
        branch = [sha]
        if len(parents) > 1:  # the PR's own commits: on the merged side only
            branch += git.git(repo_dir, "rev-list", f"{parents[0]}..{sha}").decode().split()
        for member in dict.fromkeys(branch):
            commits.append((member, instance))
        messages = git.git(repo_dir, "log", "--no-walk=unsorted", "--stdin", "--format=%B%x00",
                           stdin=("\n".join(dict.fromkeys(branch)) + "\n").encode()).decode(errors="replace")
        for issue in closing_refs(messages, name):
            if issue != number:
                links.append((name.lower(), issue, instance))
    return sorted(set(links)), sorted(set(commits))


def thread_links(work: str, instances: dict[str, str]) -> list[tuple[str, int, str]]:
    """Issues the benchmark PRs' own threads say they close."""
    folder = io.join(work, "fragments")
    links = set()
    for bucket in io.listdir(folder):
        for name in io.listdir(io.join(folder, bucket)):
            table = io.read_parquet(io.join(folder, bucket, name), ["repo", "number", "is_pr", "title", "body"])
            keys = pc.utf8_lower(pc.binary_join_element_wise(
                pc.replace_substring(table.column("repo"), "/", "__"), table.column("number").cast(pa.string()), "-"))
            hit = pc.is_in(keys, value_set=pa.array(sorted(instances), pa.string())).to_numpy(zero_copy_only=False)
            for row in table.filter(pa.array(hit)).to_pylist():
                for issue in closing_refs(f"{row['title'] or ''}\n{row['body'] or ''}", row["repo"]):
                    if issue != row["number"]:
                        links.add((row["repo"].lower(), issue, f"{row['repo'].replace('/', '__')}-{row['number']}".lower()))
    return sorted(links)


def merge_counts(results: list[dict]) -> dict:
    events, problems, records = Counter(), Counter(), Counter()
    for result in results:
        (events if result["kind"] == "gharchive" else records).update(result["counts"])
        problems.update(result["problems"])
    return {"events": dict(sorted(events.items())), "api_records": dict(sorted(records.items())),
            "problems": dict(sorted(problems.items()))}
