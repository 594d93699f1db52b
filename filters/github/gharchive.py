"""GH Archive hourly files (`YYYY-MM-DD-H.json.gz`, one event per line) → thread fragments.

Whole files are inflated in one call by libdeflate (~2.3x ISA-L's streaming inflate here); a file
too large for that, made of several gzip members, or damaged, is streamed in 4 MB blocks (ISA-L).
Each run of lines goes through one C pass (_scan.pyx) that reads every line's event type from the
raw bytes and counts the events that make no thread (pushes, stars, forks… ~85% of them); only
thread events (PR, issue, comment and review events) are read, by _fragments.pyx: their few
fields straight from the JSON in C (_event_json.h), or, for a line that pass does not handle
exactly as msgspec would, by msgspec into typed structs (objects.py); the same fragments either
way. Bad input is counted, never fatal: a line that is not JSON (`corrupt_line`), an event whose
fields have unexpected types even after a lenient retry (`schema_error`), an event that names no
thread (`no_thread`: e.g. 2012 comment events carry only ids), and a gzip stream cut short
(`truncated_gzip`: the complete lines before the cut are kept).
"""

from __future__ import annotations

import ctypes
import mmap
import re
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from filters.extract.loader import load_extension
from filters.github import objects
from pipeline import io

try:  # ISA-L inflate: same API as zlib, ~1.6x faster here
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib

try:
    _scan = load_extension("filters.github._scan")
    _fragments = load_extension("filters.github._fragments")
except ImportError as exc:
    raise ImportError("filters.github's compiled parts are not built: run `make setup` "
                      "(or .venv/bin/python filters/github/build_native.py)") from exc

try:  # Debian's libdeflate0 (Makefile sysdeps); without it every file is streamed
    _libdeflate = ctypes.CDLL("libdeflate.so.0")
    _libdeflate.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
    _libdeflate.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
    _libdeflate.libdeflate_gzip_decompress_ex.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
except OSError:  # pragma: no cover
    _libdeflate = None

THREAD_EVENTS = frozenset({"PullRequestEvent", "IssuesEvent", "IssueCommentEvent", "PullRequestReviewEvent",
                           "PullRequestReviewCommentEvent"})
EVENT_TYPE = re.compile(rb'"type":\s*"([A-Za-z]+Event)"')  # a line's type: its first match (_scan.pyx too)
THREAD_TYPES = frozenset(t.encode() for t in THREAD_EVENTS)
BLOCK = 4 << 20
WHOLE_LIMIT = 512 << 20  # inflated bytes held at once; a larger file is streamed
KEEP_LIMIT = 256 << 20  # the largest buffer a thread keeps for its next file
_buffers = threading.local()
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


@dataclass
class ArchiveStats:
    events: Counter = field(default_factory=Counter)   # event type → count
    problems: Counter = field(default_factory=Counter)  # reason → count

    def merge(self, other: ArchiveStats) -> None:
        self.events.update(other.events)
        self.problems.update(other.problems)

    def as_dict(self) -> dict:
        return {"events": dict(sorted(self.events.items())), "problems": dict(sorted(self.problems.items()))}


def blocks(path: str, stats: ArchiveStats):
    """Runs of whole lines (bytes ending with a newline) of a gzip file (all members), streamed;
    a truncated or corrupt stream is counted and its complete lines are kept."""
    inflater = _zlib.decompressobj(31)
    tail = b""
    with io.open_input(path) as fh:
        while True:
            compressed = fh.read(BLOCK)
            if not compressed:
                break
            pieces, damaged = [tail], False
            try:
                pieces.append(inflater.decompress(compressed))
                while inflater.unused_data:  # a new gzip member (GH Archive files may hold several)
                    rest = inflater.unused_data
                    inflater = _zlib.decompressobj(31)
                    pieces.append(inflater.decompress(rest))
            except (zlib.error, _zlib.error):  # what was inflated before the damage is kept
                stats.problems["corrupt_gzip"] += 1
                damaged = True
            data = b"".join(pieces)
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            if cut:
                yield data if cut == len(data) else data[:cut]
            if damaged:
                break
    if not inflater.eof:
        stats.problems["truncated_gzip"] += 1
        if tail.strip():
            stats.problems["corrupt_line"] += 1  # the cut line
        return
    if tail.strip():
        yield tail + b"\n"


def inflate_whole(path: str) -> memoryview | None:
    """The whole inflated file, when it is one intact gzip member of at most WHOLE_LIMIT bytes
    and libdeflate is there; else None (the caller streams it, and counts any damage).

    The bytes live in this thread's reusable buffers, valid until its next call: first-touch
    page faults of fresh buffers cost as much CPU here as inflating into them."""
    if _libdeflate is None:
        return None
    with io.open_input(path) as fh:
        packed = fh.seek(0, 2)
        if not 18 <= packed <= WHOLE_LIMIT:  # a member never inflates to less than it takes
            return None
        fh.seek(0)
        raw = _reusable_buffer("raw", packed)
        view = memoryview(raw)
        read = 0
        while read < packed and (got := fh.readinto(view[read:packed])):
            read += got
        view.release()
    size = int.from_bytes(raw[read - 4:read], "little")  # ISIZE: the inflated size mod 2^32
    if read != packed or not 0 < size <= WHOLE_LIMIT or raw[:2] != b"\x1f\x8b":
        return None
    out = _reusable_buffer("out", size)
    used_in, used_out = ctypes.c_size_t(), ctypes.c_size_t()
    inflater = _libdeflate.libdeflate_alloc_decompressor()
    try:
        status = _libdeflate.libdeflate_gzip_decompress_ex(
            inflater, (ctypes.c_char * packed).from_buffer(raw), packed, (ctypes.c_char * size).from_buffer(out),
            size, ctypes.byref(used_in), ctypes.byref(used_out))
    finally:
        _libdeflate.libdeflate_free_decompressor(inflater)
    # CRC and ISIZE are checked by libdeflate; input left over is a second member (or garbage)
    if status != 0 or used_in.value != packed or used_out.value != size:
        return None
    return memoryview(out)[:size]


def _reusable_buffer(name: str, size: int) -> mmap.mmap:
    """Anonymous memory, faulted in by one MAP_POPULATE call (cheaper than page by page)."""
    buffer = getattr(_buffers, name, None)
    if buffer is None or len(buffer) < size:
        setattr(_buffers, name, None)  # let the old one go before taking more memory
        buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _POPULATE)
        if size <= KEEP_LIMIT:
            setattr(_buffers, name, buffer)
    return buffer


def read_archive(path: str, source: str | None = None) -> tuple[list[dict], ArchiveStats]:
    """Fragments of every thread event in one hourly file, and the file's counts."""
    stats = ArchiveStats()
    fragments: list[dict] = []
    source = source or "gharchive:" + path.rsplit("/", 1)[-1]
    with objects.gc_paused():
        whole = inflate_whole(path)
        for lines in [whole] if whole is not None else blocks(path, stats):
            read_lines(lines, source, stats, fragments)
    return fragments, stats


def read_lines(lines: bytes | bytearray | memoryview, source: str, stats: ArchiveStats, fragments: list[dict]) -> None:
    """One run of event lines: types counted in C, thread events decoded and made into fragments
    (compiled: _fragments.pyx), untyped lines checked."""
    others, thread_lines, untyped = _scan.scan(lines, THREAD_TYPES)
    events, problems = stats.events, stats.problems
    for kind, count in others.items():
        events[kind.decode()] += count
    _fragments.read_events(lines, thread_lines, source, events, problems, fragments)
    view = memoryview(lines)
    for start, end in untyped:
        try:
            msgspec.json.decode(view[start:end])
            events["(no type)"] += 1
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile nesting
            problems["corrupt_line"] += 1
