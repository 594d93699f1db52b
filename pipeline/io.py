"""Filesystem access through fsspec, so local paths, s3:// and hdfs:// share one code path.

Writes are atomic: data goes to a temporary name in the same folder and is then renamed, so a
reader (or a resumed run) never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import faults
from pipeline.errors import InputError, OutputError


def _fs(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = fsspec.core.url_to_fs(uri)
    return fs, path


def join(base: str, *parts: str) -> str:
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def exists(uri: str) -> bool:
    fs, path = _fs(uri)
    return fs.exists(path)


def makedirs(uri: str) -> None:
    fs, path = _fs(uri)
    fs.makedirs(path, exist_ok=True)


def listdir(uri: str) -> list[str]:
    """Names (not paths) in a folder, sorted; empty if the folder does not exist."""
    fs, path = _fs(uri)
    if not fs.exists(path):
        return []
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False))


def find(uri: str) -> list[str]:
    """Every file under a folder (recursively), as URIs like `uri`, sorted; empty if it does not exist."""
    fs, path = _fs(uri)
    if not fs.exists(path):
        return []
    base = uri.rstrip("/")
    root = path.rstrip("/")
    return sorted(base + p[len(root):] for p in fs.find(path))


def remove(uri: str, recursive: bool = False) -> None:
    fs, path = _fs(uri)
    if fs.exists(path):
        fs.rm(path, recursive=recursive)


def expand_inputs(patterns: list[str] | str, what: str) -> list[str]:
    """Expand globs into a sorted, de-duplicated file list; a pattern matching nothing is an error."""
    if isinstance(patterns, str):
        patterns = [patterns]
    found: list[str] = []
    for pattern in patterns:
        fs, path = _fs(pattern)
        protocol = pattern.split("://", 1)[0] + "://" if "://" in pattern else ""
        matches = fs.glob(path) if any(c in path for c in "*?[") else ([path] if fs.exists(path) else [])
        files: list[str] = []
        for match in matches:
            if fs.isdir(match):
                files.extend(p for p in fs.find(match) if not p.rsplit("/", 1)[-1].startswith("."))
            else:
                files.append(match)
        if not files:
            raise InputError(f"{what}: no input file matches '{pattern}'")
        found.extend(protocol + f if protocol and protocol != "file://" else f for f in files)
    return sorted(set(found))


def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write to a temporary file, then rename it into place: readers see all of it or nothing.
    A full disk or a read-only folder is an OutputError naming the file (the partial temporary
    file is removed, so a re-run after freeing space starts clean)."""
    fs, path = _fs(uri)
    parent = path.rsplit("/", 1)[0]
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}"
    try:
        fs.makedirs(parent, exist_ok=True)
        with fs.open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        with contextlib.suppress(OSError):
            fs.rm(tmp)
        raise OutputError(f"cannot write {uri}: {exc.strerror or exc}") from exc
    faults.point(f"written {path}")
    fs.mv(tmp, path)
    faults.point(f"renamed {path}")


def write_json_atomic(uri: str, data: Any) -> None:
    write_bytes_atomic(uri, (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(uri: str) -> Any:
    fs, path = _fs(uri)
    try:
        with fs.open(path, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        raise InputError(f"file not found: {uri}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{uri} is not valid JSON: {exc}") from None


def write_parquet_atomic(uri: str, table: pa.Table) -> str:
    """Write a parquet file atomically and return the sha256 of its bytes. Pages carry CRC
    checksums, verified on every read, so a flipped bit in a part is an error, not wrong rows."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, write_page_checksum=True)
    data = sink.getvalue().to_pybytes()
    write_bytes_atomic(uri, data)
    return hashlib.sha256(data).hexdigest()


def read_parquet(uri: str, columns: list[str] | None = None) -> pa.Table:
    fs, path = _fs(uri)
    try:
        with fs.open(path, "rb") as fh:
            return pq.read_table(fh, columns=columns, page_checksum_verification=True)
    except FileNotFoundError:
        raise InputError(f"file not found: {uri}") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read parquet {uri}: {str(exc).splitlines()[0]}") from None


def open_input(uri: str, mode: str = "rb"):
    """Open an input file for streaming reads (the caller closes it)."""
    fs, path = _fs(uri)
    try:
        return fs.open(path, mode)
    except FileNotFoundError:
        raise InputError(f"file not found: {uri}") from None
