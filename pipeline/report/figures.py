"""A stage's own manifest figures (stages 5-7 put theirs under their name) as displayable blocks.

The shapes a stage writes decide the display, so a new figure shows up without a report change:
scalars → a key/value table, {name: number} → bars, {name: {name: number}} → a matrix (table and
stacked bars), [[name, number], …] → bars, [{...}, …] → a table of rows; other nested dicts are
walked into.
"""

from __future__ import annotations

from typing import Any

MAX_ROWS = 25


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


# What a reader looks for first, per stage (the other figures follow in the manifest's order).
FIRST = {"code": ("hits_by_language", "top_rules"),
         "github": ("samples", "git_diff_validation", "decontam"),
         "rebalance": ("clusters", "cap", "knowledge")}


def blocks(figures: dict, path: tuple[str, ...] = ()) -> list[dict]:
    """Display blocks for one stage's figures; `path` is where each block sits in the manifest."""
    scalars: dict[str, Any] = {}
    out: list[dict] = []
    first = FIRST.get(path[0], ()) if len(path) == 1 else ()
    ordered = sorted(figures, key=lambda k: first.index(k) if k in first else len(first))
    for key in ordered:
        value = figures[key]
        where = (*path, key)
        if _scalar(value):
            scalars[key] = value
        elif isinstance(value, list) and all(_scalar(v) for v in value):
            scalars[key] = (", ".join(str(v) for v in value[:MAX_ROWS]) + (" …" if len(value) > MAX_ROWS else "")
                            if value else "none")
        elif isinstance(value, dict) and value and all(_number(v) for v in value.values()):
            out.append({"kind": "bars", "title": " / ".join(where), "path": list(where), "values": value})
        elif isinstance(value, dict) and value and all(
                isinstance(v, dict) and v and all(_number(x) for x in v.values()) for v in value.values()):
            columns = sorted({c for v in value.values() for c in v}, key=_natural)
            out.append({"kind": "matrix", "title": " / ".join(where), "path": list(where),
                        "rows": value, "columns": columns})
        elif isinstance(value, list) and value and all(
                isinstance(v, list | tuple) and len(v) == 2 and isinstance(v[0], str) and _number(v[1]) for v in value):
            out.append({"kind": "bars", "title": " / ".join(where), "path": list(where), "pairs": True,
                        "values": {name: count for name, count in value}})  # [[name, count], …]: a top-k
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(c for v in value[:MAX_ROWS] for c in v))
            out.append({"kind": "rows", "title": " / ".join(where), "path": list(where),
                        "rows": value[:MAX_ROWS], "columns": columns, "more": max(0, len(value) - MAX_ROWS)})
        elif isinstance(value, dict):
            out.extend(blocks(value, where))
        else:
            scalars[key] = str(value)
    if scalars:
        out.insert(0, {"kind": "scalars", "title": " / ".join(path) or "figures", "path": list(path),
                       "values": scalars})
    return out


def _natural(label: str) -> tuple:
    """"hit10" after "hit9"; numbers by value."""
    text = str(label)
    digits = "".join(ch for ch in text if ch.isdigit())
    return (text.rstrip("0123456789"), int(digits) if digits and text.endswith(digits) else -1, text)
