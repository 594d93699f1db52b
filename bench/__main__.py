"""`python -m bench [--quick] [--only STAGE ...] [--list]`: run the stage benchmarks, print the
table and rewrite the generated section of BENCHMARKS.md from every saved result."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from bench import harness
from bench.harness import BENCH_DIR, RESULTS, Result

# The stage benchmarks every stage issue asks for; a missing module means "stage not built yet".
STAGES = ["crawl", "extract", "quality", "dedup", "tokenize"]
BENCHMARKS_MD = BENCH_DIR.parent / "BENCHMARKS.md"
START, END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"


def _scaling_inputs(stage: str, factor: int, quick: bool) -> tuple[int, list[str], str]:
    """Default scaling run of a stage whose module has no scale(): (stage number, config
    overrides, input description) for `factor` times a base input of real text or pages."""
    from bench import inputs

    if stage == "extract":
        n = (40 if quick else 160) * factor
        return 2, [f"extract.inputs=[{inputs.pages_warc(n)}]"], f"{n:,} real HTML pages in a WARC"
    sizes = {"quality": (250, 1_000, "web", 2048), "dedup": (1_000, 5_000, "prose", 2048),
             "tokenize": (500, 2_000, "mixed", 4096)}
    base_quick, base_full, kind, size = sizes[stage]
    corpus = inputs.documents((base_quick if quick else base_full) * factor, kind=kind,
                              doc_bytes=size, near_dups=0.05 if stage == "dedup" else 0.0)
    key = {"quality": (3, "quality.inputs"), "dedup": (4, "dedup.inputs"),
           "tokenize": (8, "tokenize.inputs")}[stage]
    value = str(corpus.parquet) if stage == "dedup" else f"[{corpus.parquet}]"
    return key[0], [f"{key[1]}={value}"], corpus.description


SCALED_STAGES = ("extract", "quality", "dedup", "tokenize")  # crawl scales by site, not input


def _default_scaling(stage: str, quick: bool) -> Result:
    """The whole stage through the runner (Spark local) at 1x, 4x (and 16x) input."""
    described: dict[int, str] = {}

    def job_for(factor: int):
        number, sets, desc = _scaling_inputs(stage, factor, quick)
        described[factor] = desc
        return harness.stage_run(number, sets), None

    result = harness.scaling(f"{stage}.scaling", job_for, factors=(1, 4) if quick else (1, 4, 16),
                             unit="docs" if stage != "extract" else "records", save=False,
                             notes="whole stage via the runner on the default engine (Spark "
                                   "local), start-up included: growth shows fixed vs per-item "
                                   "cost")
    result.input_desc = " → ".join(described[f] for f in sorted(described))
    result.save()
    return result


def discover() -> list[str]:
    found = {p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py")}
    return [s for s in STAGES if s in found] + sorted(found - set(STAGES))


def run_stage(stage: str, quick: bool, reps: int | None = None,
              scaling: bool = True) -> tuple[list[Result], str]:
    """Run one stage module; returns its results and a status line (never raises)."""
    try:
        module = importlib.import_module(f"bench.bench_{stage}")
    except ImportError as exc:  # the stage's own code is not built yet
        return [], f"skipped: cannot import ({exc})"
    harness.CONTEXT.update(stage=stage, quick=quick, reps=reps)
    try:
        results = list(module.run(quick) or [])
        if hasattr(module, "scale"):  # the stage at 1x, 4x, 16x input (1x, 4x quick)
            results.append(harness.scaling(
                f"{stage}.scaling", lambda f: module.scale(f, quick),
                factors=(1, 4) if quick else (1, 4, 16), unit=getattr(module, "SCALE_UNIT", "docs"),
                input_desc=getattr(module, "SCALE_INPUT", "")))
        elif stage in SCALED_STAGES and scaling and not quick:
            results.append(_default_scaling(stage, quick))
    except Exception:
        traceback.print_exc()
        return [], "failed: " + traceback.format_exc().strip().splitlines()[-1]
    finally:
        harness.CONTEXT.update(stage=None, quick=False, reps=None)
    return results, f"ok ({len(results)} result(s))"


# ---------------------------------------------------------------- table

def _num(x, digits: int = 0) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and abs(x) < 10 and digits == 0:
        return f"{x:.2f}"
    return f"{x:,.{digits}f}"


def rows(result: dict) -> list[list[str]]:
    """One row per side: its throughput, ratio and memory; goals on the ours/first row."""
    out = []
    goal_text = "; ".join(
        f"{g['goal']} ({'met' if g['met'] else 'BELOW' if g['met'] is False else 'n/a'})"
        for g in result.get("goals") or [])
    scaling = {f"{p['factor']}x": p for p in result.get("scaling") or []}
    for i, (key, side) in enumerate(result["sides"].items()):
        ratio = result["ratios"].get(key)
        if key in scaling:
            ratio_text = _scaling_text(scaling[key])
        else:
            ratio_text = "—" if key == "ours" else (f"{ratio:.2f}" if ratio else "—")
        metrics = ", ".join(f"{k}={_fmt_metric(v)}" for k, v in (side.get("metrics") or {}).items())
        status = "" if side["ok"] else f"FAILED: {side['error'][:80]}"
        if side["ok"] and not side.get("items"):
            status = "no item count reported; " + metrics
        below = "" if i or not goal_text else {True: "**yes**", False: "no", None: "n/a"}[
            result.get("below_goal")]
        out.append([
            result["name"] if i == 0 else "", key, _num(side.get("per_core")),
            _num(side.get("per_wall_s")), _num(side.get("median_cpu_s"), 2),
            _num(side.get("peak_rss_mb")), ratio_text, status or metrics,
            goal_text if i == 0 else "", below,
        ])
    return out


def _scaling_text(point: dict) -> str:
    """Marginal cost of the items added since the previous factor, and its growth."""
    if point.get("marginal_cpu_ms_per_item") is None:
        return "base"
    text = (f"+{point['marginal_cpu_ms_per_item']:.3g} ms CPU, "
            f"+{point['marginal_rss_kb_per_item']:.3g} KB RSS per extra item")
    return text + (f", growth ×{point['growth']:.2f}" if point.get("growth") else "")


def _fmt_metric(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


HEADER = ["benchmark", "side", "{unit}/s per core (CPU)", "{unit}/s wall", "median CPU s",
          "peak RSS MB", "ours ÷ side (per core)", "metrics", "goal", "below goal"]


def table(results: list[dict], markdown: bool) -> str:
    lines = []
    for r in results:
        header = [h.format(unit=r["unit"]) for h in HEADER]
        body = rows(r)
        if markdown:
            lines += [f"#### {r['name']}", "",
                      f"Input: {r['input_desc'] or '—'}; {r['reps']} rep(s), medians; "
                      f"timing: {', '.join(sorted({s['timing'] for s in r['sides'].values() if s['timing']})) or '—'}; "
                      f"{r['date']}, commit {r['machine'].get('commit')}. "
                      f"Reproduce: `{r['command']}`", ""]
            if r.get("notes"):
                lines += [r["notes"], ""]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body]
            lines.append("")
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
            fmt = "  ".join(f"{{:{w}}}" for w in widths)
            lines += [fmt.format(*header), *(fmt.format(*row) for row in body), ""]
    return "\n".join(lines)


def summary(results: list[dict], markdown: bool) -> str:
    """One line per benchmark: ours per core, each peer's ratio, goals and whether below goal."""
    header = ["benchmark", "ours per core", "ours ÷ peer (per core)", "goal", "below goal",
              "reproduce"]
    body = []
    for r in results:
        first = next(iter(r["sides"].values()), {})
        ours = r["sides"].get("ours", first)
        speed = (f"{_num(ours.get('per_core'))} {r['unit']}/s" if ours.get("ok")
                 else f"FAILED: {ours.get('error', '')[:60]}")
        if r.get("scaling"):
            ratio = "; ".join(f"{p['factor']}x: {_scaling_text(p)}" for p in r["scaling"][1:])
        else:
            ratio = ", ".join(f"{k} {v:.2f}" if v else f"{k} —" for k, v in r["ratios"].items())
        goals = "; ".join(g["goal"] + (f" (is {_fmt_metric(g['value'])})" if g.get("metric")
                                       and g["value"] is not None else "")
                          for g in r.get("goals") or [])
        below = {True: "**yes**" if markdown else "YES", False: "no", None: "n/a"}[r["below_goal"]]
        body.append([r["name"], speed, ratio or "—", goals or "—", below if goals else "—",
                     f"`{r['command']}`" if markdown else r["command"]])
    if markdown:
        return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(c.replace("|", "/") for c in row) + " |"
                            for row in body])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*row) for row in body)])


def load_results(folder: Path) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "name" in data:  # a benchmark Result, not a side file of one
            out.append(data)
    order = {s: i for i, s in enumerate(STAGES)}
    return sorted(out, key=lambda r: (order.get(r.get("stage"), 99), r["name"]))


def update_markdown(statuses: dict[str, str]) -> None:
    """Rewrite the generated section of BENCHMARKS.md from all saved results (full and quick)."""
    full, quick = load_results(RESULTS), load_results(RESULTS / "quick")
    machine = (full or quick or [{"machine": harness.machine_info()}])[0]["machine"]
    parts = [START,
             f"_Generated by `python -m bench` on {time.strftime('%Y-%m-%d %H:%M %Z')}; "
             f"machine: {machine.get('cpu')}, {machine.get('cores')} cores, "
             f"{machine.get('mem_gib')} GiB, Python {machine.get('python')}._", ""]
    parts += ["Stage status in the last run: "
              + "; ".join(f"**{s}** {st}" for s, st in statuses.items()), ""]
    for title, results in (("Full runs (`make bench`)", full),
                           ("Quick runs (`make bench QUICK=1`: small inputs, indicative only)",
                            quick)):
        parts += [f"### {title}", ""]
        if not results:
            parts += ["_none yet_", ""]
            continue
        parts += [summary(results, True), "", "<details><summary>every side</summary>", "",
                  table(results, True), "</details>", ""]
    parts.append(END)
    generated = "\n".join(parts)
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + generated + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + generated + "\n"
    BENCHMARKS_MD.write_text(text)


def _build_class_archive() -> None:
    """Spark's class archive is built once per machine (pipeline/engines/class_archive.py), like an
    installation step: build it before any timed run, so no side's first run pays for it."""
    from pipeline.config import load_config
    from pipeline.engines.class_archive import ensure_archives

    folder = load_config(None, [])["spark"]["class_archive_dir"]
    if folder:
        ensure_archives(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, a few minutes in all")
    parser.add_argument("--only", action="append", default=[], metavar="STAGE",
                        help=f"run only this stage benchmark (repeatable): {', '.join(STAGES)}")
    parser.add_argument("--reps", type=int, help="repetitions for every comparison (default: "
                        "each benchmark's own)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1x/4x/16x runs "
                        "(quick mode runs only the ones a stage module defines)")
    parser.add_argument("--list", action="store_true", help="list stage benchmarks and exit")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)

    present = discover()
    if args.list:
        for s in STAGES + [s for s in present if s not in STAGES]:
            print(f"{s:10s} {'bench/bench_' + s + '.py' if s in present else 'not built yet'}")
        return 0
    wanted = args.only or STAGES + [s for s in present if s not in STAGES]
    _build_class_archive()
    statuses: dict[str, str] = {}
    results: list[Result] = []
    for stage in wanted:
        if stage not in present:
            statuses[stage] = f"skipped: bench/bench_{stage}.py not built yet"
            print(f"[bench] {stage}: {statuses[stage]}", file=sys.stderr)
            continue
        started = time.perf_counter()
        print(f"[bench] {stage}: running{' (quick)' if args.quick else ''} ...", file=sys.stderr)
        stage_results, statuses[stage] = run_stage(stage, args.quick, args.reps,
                                                   not args.no_scaling)
        statuses[stage] += f" in {time.perf_counter() - started:.0f}s"
        print(f"[bench] {stage}: {statuses[stage]}", file=sys.stderr)
        results += stage_results
    print()
    print(table([r.to_json() for r in results], markdown=False) or "no results")
    if results:
        print(summary([r.to_json() for r in results], markdown=False), "\n")
    for stage, status in statuses.items():
        print(f"{stage:10s} {status}")
    if not args.no_markdown:
        update_markdown(statuses)
        print(f"\nBENCHMARKS.md updated ({BENCHMARKS_MD})")
    return 1 if any(s.startswith("failed") for s in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
