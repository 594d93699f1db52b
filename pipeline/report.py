"""The dataset audit report: what every stage read, kept and dropped (and why), from the manifests.

`report.json` is the machine-readable form; `index.html` is one self-contained page a data team
reads before spending compute on the result.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from pipeline import io
from pipeline.registry import STAGES

SAMPLE_PER_REASON = 3


def collect(run_dir: str) -> dict:
    stages = []
    for number, (name, _) in STAGES.items():
        stage_dir = io.join(run_dir, f"stage-{number}")
        manifest_path = io.join(stage_dir, "_manifest.json")
        if not io.exists(manifest_path):
            stages.append({"stage": number, "name": name, "status": "not run"})
            continue
        manifest = io.read_json(manifest_path)
        stages.append({**manifest, "status": "finished", "reject_samples": _reject_samples(stage_dir)})
    return {"run": run_dir, "generated": datetime.now(UTC).isoformat(timespec="seconds"), "stages": stages}


def _reject_samples(stage_dir: str) -> dict[str, list[dict]]:
    samples: dict[str, list[dict]] = {}
    for name in io.listdir(io.join(stage_dir, "_rejects")):
        if not name.endswith(".parquet"):
            continue
        table = io.read_parquet(io.join(stage_dir, "_rejects", name))
        wanted = [c for c in ("id", "url", "reason", "text") if c in table.column_names]
        for row in table.select(wanted).to_pylist():
            bucket = samples.setdefault(row["reason"], [])
            if len(bucket) < SAMPLE_PER_REASON:
                if row.get("text"):
                    row["text"] = row["text"][:300]
                bucket.append(row)
    return samples


def build_report(run_dir: str) -> str:
    data = collect(run_dir)
    out = io.join(run_dir, "report")
    io.write_json_atomic(io.join(out, "report.json"), data)
    io.write_bytes_atomic(io.join(out, "index.html"), render_html(data).encode())
    return io.join(out, "index.html")


def render_html(data: dict) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Dataset audit report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".num{text-align:right}</style>",
        f"<h1>Dataset audit report</h1><p>Run <code>{esc(data['run'])}</code>, generated {esc(data['generated'])}</p>",
        "<table><tr><th>stage</th><th>status</th><th class=num>rows in</th><th class=num>rows out</th>"
        "<th class=num>kept %</th><th>engine</th></tr>",
    ]
    for s in data["stages"]:
        if s["status"] != "finished":
            parts.append(f"<tr><td>{s['stage']} {esc(s['name'])}</td><td>{esc(s['status'])}</td>"
                         "<td></td><td></td><td></td><td></td></tr>")
            continue
        kept = 100.0 * s["rows_out"] / s["rows_in"] if s["rows_in"] else 0.0
        parts.append(f"<tr><td>{s['stage']} {esc(s['name'])}</td><td>finished</td>"
                     f"<td class=num>{s['rows_in']:,}</td><td class=num>{s['rows_out']:,}</td>"
                     f"<td class=num>{kept:.1f}</td><td>{esc(str(s.get('engine', '')))}</td></tr>")
    parts.append("</table>")
    for s in data["stages"]:
        if s["status"] != "finished" or not s["dropped"]:
            continue
        parts.append(f"<h2>Stage {s['stage']} ({esc(s['name'])}): dropped</h2><table>"
                     "<tr><th>reason</th><th class=num>rows</th><th>examples</th></tr>")
        for reason, count in sorted(s["dropped"].items(), key=lambda kv: -kv[1]):
            examples = s["reject_samples"].get(reason, [])
            shown = "<br>".join(esc(str(e.get("url") or e.get("id"))) for e in examples)
            parts.append(f"<tr><td>{esc(reason)}</td><td class=num>{count:,}</td><td>{shown}</td></tr>")
        parts.append("</table>")
    return "\n".join(parts)
