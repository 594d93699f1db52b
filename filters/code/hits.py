"""Score, then decide: the signals a file's profile uses, and the rules they make fire.

    profile_of(doc_type, language, lang)  → "python" | "data" | "others" | "text_en" | …
    signals(doc, cuts)                    → {rule: value} for every rule with a cut in the profile
    fired(signals, cuts, file_id, seed)   → names of the rules that fire (stochastic ones seeded)

`hit_count` = len(fired(...)); stage 6 keeps files with hit_count ≤ code.max_hits. Because the
values are stored, a new cut or max_hits re-decides from them (code.rethreshold) without any rule
running again.
"""

from __future__ import annotations

from collections.abc import Mapping

from xxhash import xxh64_intdigest

from filters.code.document import CodeDoc
from filters.code.rules import RULES

LANGUAGE_PROFILES = ("cpp", "csharp", "c", "go", "html", "java", "javascript", "python", "shell", "sql")


def profile_of(doc_type: str, language: str, lang: str) -> str | None:
    """OpenCoder's choice of rule set (None: the file is not filtered by rules: unknown/excluded)."""
    if doc_type == "text":
        return "text_zh" if lang == "zh" else "text_en"
    if doc_type in ("code", "data"):
        if language in LANGUAGE_PROFILES:
            return language
        return "data" if doc_type == "data" else "others"
    return None


def signals(doc: CodeDoc, cuts: Mapping[str, object]) -> dict[str, float | None]:
    """The value of every rule the profile enables (a rule that raises is None, and never fires)."""
    values: dict[str, float | None] = {}
    for name, cut in cuts.items():
        if cut is None:
            continue
        values[name] = RULES.get(name)(doc)
    return values


def draw(seed: int, rule: str, file_id: str) -> float:
    """A uniform number in [0, 1), the same for a (seed, rule, file) on every machine."""
    return xxh64_intdigest(f"{seed}:{rule}:{file_id}".encode()) / 2.0**64


def fires(value: float | None, cut) -> bool:
    if value is None or cut is None:
        return False
    below, above, equals = cut["below"], cut["above"], cut["equals"]
    return bool((below is not None and value < below) or (above is not None and value > above)
                or (equals is not None and value == equals))


def fired(values: Mapping[str, float | None], cuts: Mapping[str, dict | None], file_id: str, seed: int) -> list[str]:
    hits = []
    for name, cut in cuts.items():
        if cut is None or not fires(values.get(name), cut):
            continue
        if cut["drop_probability"] < 1.0 and draw(seed, name, file_id) >= cut["drop_probability"]:
            continue
        hits.append(name)
    return hits
