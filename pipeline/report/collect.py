"""The report's figures, read from the run folder's manifests and small sidecars only.

Never the data itself: every stage's `_manifest.json` carries its counts, its profile (documents,
bytes, tokens in and out; per drop reason and per value of language, content type, domain, tier…;
a few sampled documents) and its own figures under its name ("crawl", "dedup", "code"…), and
stage 8 writes `_index.json`. So the report takes the same seconds for a thousand rows or a billion.

`collect(run_dir)` returns report.json: plain numbers and texts, one key per report section.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline import io
from pipeline.registry import STAGES, is_built

WEB_CHAIN = {3: (2,), 4: (3,), 5: (4,)}  # the stage whose output a stage reads by default
TIER_ORDER = ["high", "medium_high", "medium", "medium_low", "low"]
DISTRIBUTION_COLUMNS = ("language", "content_type", "domain", "topic", "format", "page_topic", "page_format",
                        "source")
DISTRIBUTION_STAGES = (2, 3, 4, 5)
TOP_VALUES = 15
REJECT_FILES_READ = 20  # _rejects files read per stage when a manifest has no samples (older runs)


def manifest_file(number: int) -> str:
    return f"stage-{number}/_manifest.json"


def _read_stages(run_dir: str) -> dict[int, dict]:
    stages = {}
    for number, (name, _) in STAGES.items():
        folder = io.join(run_dir, f"stage-{number}")
        entry: dict[str, Any] = {"number": number, "name": name, "manifest": None}
        if io.exists(io.join(folder, "_manifest.json")):
            entry["status"] = "finished"
            entry["manifest"] = io.read_json(io.join(folder, "_manifest.json"))
        elif io.exists(io.join(folder, "_state.json")):
            entry["status"] = "incomplete"
        elif not is_built(number):
            entry["status"] = "not built"
        else:
            entry["status"] = "not run"
        stages[number] = entry
    return stages


def status_note(stage: dict) -> str:
    name = f"Stage {stage['number']} ({stage['name']})"
    return {"finished": f"{name} finished.",
            "incomplete": f"{name} started but has not finished (no _manifest.json yet): re-run it to resume.",
            "not built": f"{name} is not built yet in this version of the pipeline, so it did not run.",
            "not run": f"{name} did not run in this run folder."}[stage["status"]]


def _seconds(manifest: dict) -> float | None:
    try:
        start = datetime.fromisoformat(manifest["started"])
        end = datetime.fromisoformat(manifest["finished"])
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def _profile(manifest: dict | None) -> dict:
    return (manifest or {}).get("profile") or {"in": {}, "out": {}, "dropped": {}, "by": {}, "samples": {}}


# ---- funnel -------------------------------------------------------------------------------------
def _funnel(stages: dict[int, dict], run_dir: str) -> dict:
    rows, reasons = [], []
    for number, stage in stages.items():
        m = stage["manifest"]
        if m is None:
            rows.append({"stage": number, "name": stage["name"], "status": stage["status"]})
            continue
        prof = _profile(m)
        dropped_total = sum(m["dropped"].values())
        upstream = _upstream_rows(number, stages, m)
        row = {
            "stage": number, "name": stage["name"], "status": "finished",
            "docs_in": m["rows_in"], "docs_out": m["rows_out"], "dropped": dropped_total,
            "kept_share": m["rows_out"] / m["rows_in"] if m["rows_in"] else None,
            "text_bytes_in": prof["in"].get("text_bytes"), "text_bytes_out": prof["out"].get("text_bytes"),
            "tokens_in": prof["in"].get("n_tokens"), "tokens_out": prof["out"].get("n_tokens"),
            "fetched_bytes": prof["in"].get("bytes") if number == 1 else None,
            "adds_up": m["rows_in"] == m["rows_out"] + dropped_total,
            "upstream_docs": upstream,
            "skipped": m.get("records_skipped") or {},
            "seconds": _seconds(m),
        }
        rows.append(row)
        samples = _reject_samples(run_dir, number, m)
        for reason, count in sorted(m["dropped"].items(), key=lambda kv: (-kv[1], kv[0])):
            figures = prof["dropped"].get(reason, {})
            reasons.append({"stage": number, "reason": reason, "docs": count,
                            "text_bytes": figures.get("text_bytes"),
                            "share_of_stage_input": count / m["rows_in"] if m["rows_in"] else None,
                            "samples": samples.get(reason, [])})
    return {"rows": rows, "reasons": reasons}


def _upstream_rows(number: int, stages: dict[int, dict], manifest: dict) -> dict | None:
    """What the stage should have read: the output of the stage it reads by default (stage 8: the
    web stage plus code and GitHub), when that stage finished and no explicit inputs were given."""
    if number == 8:
        parts = [n for n in (5, 4, 3) if stages[n]["manifest"]][:1] + [n for n in (6, 7) if stages[n]["manifest"]]
        if not parts or manifest.get("input_documents") is None:
            return None
        return {"stages": parts, "docs": sum(stages[n]["manifest"]["rows_out"] for n in parts),
                "read": manifest["input_documents"]}
    source = WEB_CHAIN.get(number)
    if not source or not stages[source[0]]["manifest"]:
        return None
    return {"stages": list(source), "docs": stages[source[0]]["manifest"]["rows_out"], "read": manifest["rows_in"]}


def _reject_samples(run_dir: str, number: int, manifest: dict) -> dict[str, list[dict]]:
    """Per reason a few rejected documents: the manifest's profile samples, else (runs written
    before profiles existed) the first _rejects files."""
    dropped = _profile(manifest)["dropped"]
    if dropped:
        return {reason: figures.get("samples", []) for reason, figures in dropped.items()}
    folder = io.join(run_dir, f"stage-{number}", "_rejects")
    samples: dict[str, list[dict]] = {}
    names = sorted(n for n in io.listdir(folder) if n.endswith(".parquet"))[:REJECT_FILES_READ]
    for name in names:
        table = io.read_parquet(io.join(folder, name))
        wanted = [c for c in ("id", "url", "reason", "text") if c in table.column_names]
        for row in table.select(wanted).to_pylist():
            bucket = samples.setdefault(row["reason"], [])
            if len(bucket) < 3:
                text = " ".join((row.pop("text", None) or "").split())
                bucket.append({**row, "excerpt": text[:400]})
    return samples


# ---- crawl --------------------------------------------------------------------------------------
def _crawl(stages: dict[int, dict]) -> dict:
    stage = stages[1]
    if stage["manifest"] is None:
        return {"status": stage["status"], "note": status_note(stage)}
    m = stage["manifest"]
    by = _profile(m)["by"]
    summary = m.get("crawl", {})
    by_reason = {k: v["docs_in"] for k, v in by.get("reason", {}).items()}
    fetched = {}
    for key, v in by.get("site_category|reason", {}).items():
        category, _, reason = key.rpartition("|")
        if reason == "ok":
            fetched[category] = fetched.get(category, 0) + v["docs_in"]
    host_category = _host_categories(by.get("host|site_category", {}))
    yields = {category: {"fetched": n} for category, n in sorted(fetched.items())}
    unattributed: dict[str, int] = {}
    for number in (2, 3, 4):
        later = stages[number]["manifest"]
        if later is None:
            continue
        for domain, v in _profile(later)["by"].get("domain", {}).items():
            category = host_category.get(domain)
            if category is None or category not in yields:
                unattributed[f"stage-{number}"] = unattributed.get(f"stage-{number}", 0) + v["docs_out"]
                continue
            yields[category][f"stage-{number}"] = yields[category].get(f"stage-{number}", 0) + v["docs_out"]
    return {
        "status": "finished", "note": status_note(stage),
        "pages_attempted": summary.get("pages_attempted"), "hosts": summary.get("hosts"),
        "by_status": {k: v["docs_in"] for k, v in by.get("status", {}).items()},
        "by_reason": by_reason,
        "by_kind": {k: v["docs_in"] for k, v in by.get("kind", {}).items()},
        "robots_denied": by_reason.get("robots_disallowed", 0),
        "category_shares": summary.get("category_shares", {}),
        "category_targets": summary.get("category_targets", {}),
        "category_yield": yields, "yield_unattributed": unattributed,
        "fetched_bytes": _profile(m)["in"].get("bytes"),
    }


def _host_categories(pairs: dict[str, dict]) -> dict[str, str]:
    """host → its site category (the one most of its attempts carry)."""
    best: dict[str, tuple[int, str]] = {}
    for key, v in pairs.items():
        host, _, category = key.rpartition("|")
        host = host.rsplit(":", 1)[0] if host.rsplit(":", 1)[-1].isdigit() else host  # stage 2's domain has no port
        if category == "(none)":
            continue
        if v["docs_in"] > best.get(host, (-1, ""))[0]:
            best[host] = (v["docs_in"], category)
    return {host: category for host, (_, category) in best.items()}


# ---- distributions ------------------------------------------------------------------------------
def _distributions(stages: dict[int, dict]) -> dict:
    out = {}
    for column in DISTRIBUTION_COLUMNS:
        series: dict[str, dict[str, int]] = {}
        for number in DISTRIBUTION_STAGES:
            m = stages[number]["manifest"]
            counts = _profile(m)["by"].get(column) if m else None
            if not counts:
                continue
            if not series:  # the first stage that has the column: its input too
                series[f"stage-{number} in"] = {k: v["docs_in"] for k, v in counts.items()}
            series[f"stage-{number} out"] = {k: v["docs_out"] for k, v in counts.items()}
        if series:
            last = list(series.values())[-1]
            first = list(series.values())[0]
            order = sorted(set(first) | set(last), key=lambda k: (-last.get(k, 0), -first.get(k, 0), k))
            out[column] = {"values": order[:TOP_VALUES], "more_values": max(0, len(order) - TOP_VALUES),
                           "series": series}
    rebalance = stages[5]
    return {"columns": out, "rebalance_status": rebalance["status"], "rebalance_note": status_note(rebalance)}


# ---- quality ------------------------------------------------------------------------------------
def _tier_matrix(pairs: dict[str, dict]) -> dict[str, dict[str, int]]:
    matrix: dict[str, dict[str, int]] = {}
    for key, v in pairs.items():
        tier, _, value = key.partition("|")
        matrix.setdefault(value, {})[tier] = matrix.setdefault(value, {}).get(tier, 0) + v["docs_in"]
    return dict(sorted(matrix.items(), key=lambda kv: -sum(kv[1].values())))


def _tiers(present: set[str]) -> list[str]:
    return [t for t in TIER_ORDER if t in present] + sorted(present - set(TIER_ORDER))


def _quality(stages: dict[int, dict]) -> dict:
    stage = stages[3]
    if stage["manifest"] is None:
        return {"status": stage["status"], "note": status_note(stage)}
    m = stage["manifest"]
    prof = _profile(m)
    by = prof["by"]
    tier_totals = {k: v["docs_in"] for k, v in by.get("tier", {}).items()}
    histograms = {}
    cut_points = m.get("quality_cut_points", {})
    buckets: dict[str, dict[int, int]] = {}
    for key, v in by.get("quality_buckets", {}).items():
        scorer, _, bucket = key.rpartition("|")
        if scorer and bucket.isdigit():
            buckets.setdefault(scorer, {})[int(bucket)] = v["docs_in"]
    for scorer, counts in sorted(buckets.items()):
        cuts = cut_points.get(scorer)
        n = (len(cuts) + 1) if cuts else max(counts) + 1
        histograms[scorer] = {"buckets": [counts.get(b, 0) for b in range(n)], "cut_points": cuts}
    return {
        "status": "finished", "note": status_note(stage),
        "tiers": _tiers(set(tier_totals)), "tier_totals": tier_totals,
        "kept_by_tier": {k: v["docs_out"] for k, v in by.get("tier", {}).items()},
        "by_content_type": _tier_matrix(by.get("tier|content_type", {})),
        "by_language": _tier_matrix(by.get("tier|language", {})),
        "scorers": m.get("quality_scorers", []), "calibration_rows": m.get("quality_calibration_rows"),
        "histograms": histograms,
        "samples": {t: prof["samples"].get("tier", {}).get(t, []) for t in _tiers(set(prof["samples"].get("tier", {})))},
    }


# ---- dedup --------------------------------------------------------------------------------------
def _size_key(label: str) -> int:
    return int(label.split("-")[0])


def _dedup(stages: dict[int, dict]) -> dict:
    stage = stages[4]
    if stage["manifest"] is None:
        return {"status": stage["status"], "note": status_note(stage)}
    m = stage["manifest"]
    figures = m.get("dedup", {})
    removed = sum(m["dropped"].values())
    sizes = figures.get("cluster_sizes", {})
    return {
        "status": "finished", "note": status_note(stage), "figures": figures,
        "removed": removed, "removal_rate": removed / m["rows_in"] if m["rows_in"] else None,
        "cluster_sizes": dict(sorted(sizes.items(), key=lambda kv: _size_key(kv[0]))),
        "dropped": m["dropped"],
    }


# ---- stages 5-7: their own figures, shown as given ----------------------------------------------
def _own_figures(stages: dict[int, dict], number: int, sample_column: str | None = None) -> dict:
    stage = stages[number]
    if stage["manifest"] is None:
        return {"status": stage["status"], "note": status_note(stage)}
    m = stage["manifest"]
    prof = _profile(m)
    section = {"status": "finished", "note": status_note(stage), "figures": m.get(stage["name"], {}),
               "by": {column: {k: v["docs_in"] for k, v in counts.items()}
                      for column, counts in prof["by"].items() if "|" not in column}}
    if sample_column:
        section["samples"] = prof["samples"].get(sample_column, {})
    if number == 6:  # files per hit count over all languages
        totals: dict[str, int] = {}
        for hist in section["figures"].get("hits_by_language", {}).values():
            for hits, files in hist.items():
                totals[str(hits)] = totals.get(str(hits), 0) + files
        section["hit_totals"] = dict(sorted(totals.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 99))
    return section


# ---- tokens -------------------------------------------------------------------------------------
def _tokens(run_dir: str, stages: dict[int, dict]) -> dict:
    stage = stages[8]
    if stage["manifest"] is None:
        return {"status": stage["status"], "note": status_note(stage)}
    m = stage["manifest"]
    index_path = io.join(run_dir, "stage-8", "_index.json")
    index = io.read_json(index_path) if io.exists(index_path) else {}
    out = _profile(m)["out"]
    header = out.get("n_header_tokens")
    return {
        "status": "finished", "note": status_note(stage),
        "total_tokens": m.get("total_tokens"), "shards": m.get("shards"),
        "input_documents": m.get("input_documents"), "packed_rows": m.get("packed_rows"),
        "tokens_by": index.get("tokens_by", {}), "shard_list": index.get("shards", [])[:50],
        "more_shards": max(0, len(index.get("shards", [])) - 50),
        "tokenizer": index.get("tokenizer"), "seq_len": index.get("seq_len"), "packed": index.get("packed"),
        "header_tokens": header, "sample_tokens": out.get("n_tokens"),
        "header_share": header / out["n_tokens"] if header is not None and out.get("n_tokens") else None,
        "figures": {k: m[k] for k in ("token_shares", "decontam") if k in m},
    }


# ---- run metadata -------------------------------------------------------------------------------
def _run_info(run_dir: str, stages: dict[int, dict]) -> dict:
    config_path = io.join(run_dir, "config.yaml")
    config = ""
    if io.exists(config_path):
        with io.open_input(config_path, "rt") as fh:
            config = fh.read()
    timings, environment = [], {}
    for number, stage in stages.items():
        m = stage["manifest"]
        if m is None:
            continue
        timings.append({"stage": number, "name": stage["name"], "started": m.get("started"),
                        "finished": m.get("finished"), "seconds": _seconds(m), "engine": m.get("engine")})
        environment = m.get("environment") or environment
    return {"config": config, "timings": timings, "environment": environment}


def collect(run_dir: str) -> dict:
    stages = _read_stages(run_dir)
    return {
        "title": "Dataset audit report",
        "run": str(run_dir),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "stages": [{k: v for k, v in s.items() if k != "manifest"} | {"note": status_note(s)}
                   for s in stages.values()],
        "funnel": _funnel(stages, run_dir),
        "crawl": _crawl(stages),
        "distributions": _distributions(stages),
        "quality": _quality(stages),
        "dedup": _dedup(stages),
        "rebalance": _own_figures(stages, 5, "topic"),
        "code": _own_figures(stages, 6, "code_language"),
        "github": _own_figures(stages, 7, "kind"),
        "tokens": _tokens(run_dir, stages),
        "run_info": _run_info(run_dir, stages),
    }
