"""Text with its template scaffolding marked, and the same sample as a chat dialogue.

A sample is written piece by piece: `scaffold()` for the template's own words (headers,
instructions, markers), `content()` for what came from GitHub (titles, bodies, code, paths, the
expected answer). Two renderings come out, stored side by side in the stage-7 row:

- pretraining / annealing: `text` with `no_loss_spans` = the scaffolding's [start, end) character
  offsets (stage 8 gives those characters' tokens loss 0);
- mid-training: `chat_text`, the sample as a dialogue in `github.chat` (user turn(s), then the
  assistant's answer), with `chat_no_loss_spans` = everything but the assistant's answer.

Base rows (pr, issue, commit) have no dialogue form: their `chat_text` is null and stage 8 uses
`text` in both phases.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Builder:
    parts: list[tuple[str, bool]] = field(default_factory=list)  # (text, is scaffolding)
    answer_from: int | None = None  # index of the first part of the assistant's answer

    def scaffold(self, text: str) -> Builder:
        if text:
            self.parts.append((text, True))
        return self

    def content(self, text: str | None) -> Builder:
        if text:
            self.parts.append((text, False))
        return self

    def answer(self) -> Builder:
        """What follows is the assistant's answer (the rest is the user's turn)."""
        self.answer_from = len(self.parts)
        return self

    def text(self) -> tuple[str, list[list[int]]]:
        """The pretraining text and its scaffolding spans (merged, [start, end) offsets)."""
        return _join(self.parts)

    def chat(self, template) -> tuple[str, list[list[int]]] | None:
        """The dialogue and its no-loss spans (all but the answer), or None without an answer."""
        if self.answer_from is None:
            return None
        user = "".join(text for text, _ in self.parts[:self.answer_from])
        answer = "".join(text for text, _ in self.parts[self.answer_from:])
        pieces: list[tuple[str, bool]] = []
        if template.system:
            pieces.append((template.system_turn.format(content=template.system), True))
        pieces.append((template.user_turn.format(content=user), True))
        head, _, tail = template.assistant_turn.partition("{content}")
        pieces += [(head, True), (answer, False), (tail, False)]  # the end marker is learnt
        return _join(pieces)


def _join(parts: list[tuple[str, bool]]) -> tuple[str, list[list[int]]]:
    spans: list[list[int]] = []
    cursor = 0
    for text, masked in parts:
        if masked and text:
            if spans and spans[-1][1] == cursor:
                spans[-1][1] = cursor + len(text)
            else:
                spans.append([cursor, cursor + len(text)])
        cursor += len(text)
    return "".join(text for text, _ in parts), spans
