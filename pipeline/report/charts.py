"""Charts for the audit report: matplotlib drawn to SVG text that is inlined in the page (no files,
no JavaScript, no network). Every function returns one `<svg>` element as a string."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
from matplotlib.ticker import FuncFormatter  # noqa: E402

PALETTE = ["#4472c4", "#ed7d31", "#a5a5a5", "#ffc000", "#5b9bd5", "#70ad47", "#264478", "#9e480e",
           "#636363", "#997300"]
MAX_BARS = 25
_STYLE = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
          "axes.prop_cycle": matplotlib.cycler(color=PALETTE)}


def _human(value: float, _pos: int | None = None) -> str:
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _svg(fig, name: str) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name}):  # stable ids, distinct per chart
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.S)  # drop the XML prolog and DOCTYPE


def _top(values: Mapping[str, float], limit: int = MAX_BARS) -> dict[str, float]:
    """The largest `limit` values; the others summed into one bar."""
    ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= limit:
        return dict(ordered)
    head = dict(ordered[: limit - 1])
    head[f"{len(ordered) - limit + 1} others"] = sum(v for _, v in ordered[limit - 1:])
    return head


def bars(name: str, values: Mapping[str, float], xlabel: str, sort: bool = True) -> str:
    """Horizontal bars, largest first (or in the given order)."""
    shown = _top(values) if sort else dict(list(values.items())[:MAX_BARS])
    labels = list(shown)
    with matplotlib.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(labels) + 0.8))
        ax.barh(range(len(labels)), list(shown.values()), color=PALETTE[0])
        ax.set_yticks(range(len(labels)), [_short(label) for label in labels])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_formatter(FuncFormatter(_human))
        for i, value in enumerate(shown.values()):
            ax.text(value, i, " " + _human(value), va="center", fontsize=8)
        return _svg(fig, name)


def grouped(name: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], ylabel: str,
            log: bool = False, horizontal: bool = False) -> str:
    """Bars per category, one colour per series (e.g. documents in / out per stage)."""
    n = max(len(series), 1)
    width = 0.8 / n
    with matplotlib.rc_context(_STYLE):
        if horizontal:
            fig, ax = plt.subplots(figsize=(6.4, 0.22 * len(categories) * n + 1.0))
        else:
            fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(categories) + 1.5), 2.8))
        for i, (label, values) in enumerate(series.items()):
            positions = [k + (i - (n - 1) / 2) * width for k in range(len(categories))]
            if horizontal:
                ax.barh(positions, values, height=width, label=label)
            else:
                ax.bar(positions, values, width=width, label=label)
        axis = ax.yaxis if not horizontal else ax.xaxis
        if horizontal:
            ax.set_yticks(range(len(categories)), [_short(c) for c in categories])
            ax.invert_yaxis()
            ax.set_xlabel(ylabel)
            if log:
                ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(categories)), [_short(c, 18) for c in categories],
                          rotation=30 if len(categories) > 4 else 0, ha="right" if len(categories) > 4 else "center")
            ax.set_ylabel(ylabel)
            if log:
                ax.set_yscale("log")
        axis.set_major_formatter(FuncFormatter(_human))
        if len(series) > 1:  # beside the plot, never over a bar
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _svg(fig, name)


def stacked(name: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], xlabel: str) -> str:
    """Horizontal stacked bars: one bar per category, one colour per series (e.g. tiers)."""
    with matplotlib.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(categories) + 1.0))
        left = [0.0] * len(categories)
        for label, values in series.items():
            ax.barh(range(len(categories)), values, left=left, label=label)
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(range(len(categories)), [_short(c) for c in categories])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_formatter(FuncFormatter(_human))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _svg(fig, name)


def histogram(name: str, edges: Sequence[float], counts: Sequence[float], xlabel: str,
              density: bool = True) -> str:
    """Bars between given edges (variable widths: the height is documents per unit of score when
    `density`, so unequal bins read correctly)."""
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    heights = [c / w if density and w > 0 else c for c, w in zip(counts, widths, strict=True)]
    with matplotlib.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(3.1, 2.0))
        ax.bar(edges[:-1], heights, width=widths, align="edge", color=PALETTE[0], edgecolor="white",
               linewidth=0.3)
        ax.set_xlabel(xlabel)
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.set_ylabel("documents per unit" if density else "documents", fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(_human))
        return _svg(fig, name)


def timeline(name: str, spans: Sequence[tuple[str, float, float]]) -> str:
    """Stage timings: one horizontal bar per stage from its start to its end (seconds from the first)."""
    with matplotlib.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(spans) + 0.8))
        for i, (_, start, end) in enumerate(spans):
            ax.barh(i, max(end - start, 0.5), left=start, color=PALETTE[i % len(PALETTE)])
            ax.text(end, i, f" {end - start:,.0f} s", va="center", fontsize=8)
        ax.set_yticks(range(len(spans)), [label for label, _, _ in spans])
        ax.invert_yaxis()
        ax.set_xlabel("seconds since the first stage started")
        return _svg(fig, name)


def _short(label: str, limit: int = 40) -> str:
    label = str(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"
