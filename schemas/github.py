"""Stage 7 output: one row per sample (pr, issue, commit, localization, repair)."""

from __future__ import annotations

import pyarrow as pa

from filters.decontam.index import EVIDENCE
from schemas.base import DOC_FIELDS

VERSION = "1"
SPANS = pa.list_(pa.list_(pa.int64()))  # [start, end) character offsets whose tokens get loss 0

SCHEMA = pa.schema([
    *DOC_FIELDS,                                  # source: github-<kind>; content_type: Code
    pa.field("kind", pa.string()),                # pr | issue | commit | localization | repair
    pa.field("repo", pa.string()),                # owner/name
    pa.field("number", pa.int64()),               # PR / issue number (a commit: the PR it merges, if any)
    pa.field("sha", pa.string()),                 # commit sha (commit, localization, repair rows)
    pa.field("code_language", pa.string()),       # main programming language of the change / repository
    pa.field("code_languages", pa.list_(pa.string())),
    pa.field("provenance", pa.string()),          # gharchive:<file> | api:<file> | git:<owner/name>
    pa.field("created_at", pa.string()),          # ISO 8601 UTC (thread opened / commit authored)
    pa.field("stars", pa.int64()),                # null: no star data for the repository
    pa.field("closes", pa.list_(pa.int64())),     # issue numbers the PR / commit closes
    pa.field("no_loss_spans", SPANS),             # pretraining/annealing phase: template scaffolding
    pa.field("chat_text", pa.string()),           # mid-training phase: the sample as a chat dialogue
    pa.field("chat_no_loss_spans", SPANS),        # … with the user turns (all but the answer)
])

# Scores decide() reads (kept on every row, so a re-threshold needs no re-extraction).
SCORE_FIELDS = [
    pa.field("is_bot", pa.bool_()),
    pa.field("trivial", pa.string()),             # whitespace | version_bump | lockfile | empty | null
    pa.field("changed_lines", pa.int64()),
    pa.field("changed_files", pa.int64()),
    pa.field("merge", pa.string()),               # pr (a PR's merge commit) | other | null
    pa.field("repair_ok", pa.bool_()),            # repair rows: edits reproduce the change
    pa.field("diff_ok", pa.bool_()),              # validated commits: patch equals `git diff`
    pa.field("decontam", EVIDENCE),
]
