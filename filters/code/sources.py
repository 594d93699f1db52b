"""Stage 6's inputs: folders, git checkouts, globs of files and parquet tables of files.

    plan(patterns)     → units of work in the driver (a file, a git blob, a parquet row group),
                         with their sizes, from listings only (nothing is read)
    pack(units, bytes) → partitions of at most `partition_bytes` input bytes each (a unit larger
                         than that is a partition alone), so a worker never holds more
    read(units)        → one row per file: path, repo, stars, license, commit date, text, size and
                         `read_error` (why the file has no text: binary, vendored, too_large, …)

A git checkout (a folder with .git, or a bare repository) is read from its HEAD commit with `git
ls-tree` and `git cat-file`: the committed files, never .git itself; an object git cannot read is
the reason `git_object_unreadable` of that file. A folder is walked without following directory
symlinks; a file symlink is read through, a broken or looping one is `broken_symlink`.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from filters.code import languages
from pipeline.errors import InputError

# column names of a parquet table of files (ours first, then The Stack's)
TABLE_COLUMNS = {
    "path": ("path", "max_stars_repo_path", "file_path"),
    "text": ("content", "text"),
    "repo": ("repo", "repo_name", "max_stars_repo_name"),
    "stars": ("stars", "max_stars_count"),
    "license": ("license", "licenses", "max_stars_repo_licenses"),
    "commit_date": ("commit_date", "date", "max_stars_repo_stars_event_max_datetime"),
}
FILE_FIELDS = [
    pa.field("path", pa.string()), pa.field("repo", pa.string()), pa.field("stars", pa.int64()),
    pa.field("license", pa.string()), pa.field("commit_date", pa.timestamp("s", tz="UTC")),
    pa.field("text", pa.string()), pa.field("size_bytes", pa.int64()), pa.field("read_error", pa.string()),
]


@dataclass
class Unit:
    """One thing to read: a file on disk, a blob of a git repository, or a parquet row group."""

    kind: str  # file | git | parquet | error
    source: str  # the file, repository or table
    size: int
    path: str = ""  # path inside the folder or repository
    repo: str = ""
    extra: dict = field(default_factory=dict)


def _git(repo: str, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", repo, *args], input=data, capture_output=True, check=False)


def _is_git(path: str) -> bool:
    return os.path.isdir(os.path.join(path, ".git")) or (
        os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects")))


def _git_units(repo: str) -> list[Unit]:
    name = os.path.basename(os.path.abspath(repo).removesuffix("/.git").removesuffix(".git")) or repo
    listing = _git(repo, "ls-tree", "-r", "-l", "-z", "HEAD")
    if listing.returncode != 0:
        reason = listing.stderr.decode(errors="replace").strip().splitlines()
        return [Unit("error", repo, 0, path="", repo=name,
                     extra={"error": "git_unreadable", "detail": reason[-1] if reason else ""})]
    date = _git(repo, "log", "-1", "--format=%ct", "HEAD")
    commit_time = int(date.stdout.strip()) if date.returncode == 0 and date.stdout.strip().isdigit() else None
    units = []
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, kind, sha, size = meta.split()
        if kind != b"blob" or mode == b"120000":  # submodules and symlinks are not files of this repo
            continue
        units.append(Unit("git", repo, int(size) if size.isdigit() else 0, path=path.decode("utf-8", "replace"),
                          repo=name, extra={"sha": sha.decode(), "commit_time": commit_time}))
    return units


def _walk(folder: str) -> list[Unit]:
    name = os.path.basename(os.path.abspath(folder))
    units = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for file in sorted(files):
            full = os.path.join(root, file)
            rel = os.path.relpath(full, folder)
            try:
                size = os.stat(full).st_size  # follows a file symlink
            except OSError:
                units.append(Unit("error", full, 0, path=rel, repo=name, extra={"error": "broken_symlink"}))
                continue
            units.append(Unit("file", full, size, path=rel, repo=name))
    return units


def _table_units(path: str) -> list[Unit]:
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"code.inputs: {path} is not a readable parquet table ({exc})") from None
    return [Unit("parquet", path, meta.row_group(i).total_byte_size, extra={"row_group": i})
            for i in range(meta.num_row_groups)]


def plan(patterns: list[str]) -> list[Unit]:
    """Every unit of every input, in a deterministic order."""
    import glob

    units: list[Unit] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        if not matches or not all(os.path.lexists(m) for m in matches):
            raise InputError(f"code.inputs: nothing matches '{pattern}'")
        for match in matches:
            if os.path.isdir(match):
                units.extend(_git_units(match) if _is_git(match) else _walk(match))
            elif match.endswith(".parquet"):
                units.extend(_table_units(match))
            else:
                try:
                    size = os.stat(match).st_size
                    units.append(Unit("file", match, size, path=os.path.basename(match),
                                      repo=os.path.basename(os.path.dirname(os.path.abspath(match)))))
                except OSError:
                    units.append(Unit("error", match, 0, path=os.path.basename(match), extra={"error": "broken_symlink"}))
    return units


def pack(units: list[Unit], limit: int) -> list[list[Unit]]:
    """Consecutive units into partitions of at most `limit` bytes (a larger unit alone)."""
    parts: list[list[Unit]] = []
    current: list[Unit] = []
    held = 0
    for unit in units:
        size = max(unit.size, 1)
        if current and held + size > limit:
            parts.append(current)
            current, held = [], 0
        current.append(unit)
        held += size
    if current:
        parts.append(current)
    return parts


def _decode(data: bytes) -> tuple[str | None, str | None]:
    if not data:
        return None, "empty"
    if languages.is_binary(data):
        return None, "binary"
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError:
        return None, "undecodable"


def _row(unit: Unit, text: str | None, size: int, error: str | None, commit_time: int | None = None) -> dict:
    return {"path": unit.path, "repo": unit.repo, "stars": None, "license": None, "commit_date": commit_time,
            "text": text, "size_bytes": size, "read_error": error}


def _screen(unit: Unit, max_bytes: int, skip_vendored: bool) -> str | None:
    if skip_vendored and languages.is_vendored(unit.path):
        return "vendored"
    if unit.size > max_bytes:
        return "too_large"
    return None


def _read_file(unit: Unit, max_bytes: int, skip_vendored: bool) -> dict:
    error = _screen(unit, max_bytes, skip_vendored)
    if error:
        return _row(unit, None, unit.size, error)
    try:
        if not os.path.isfile(unit.source):
            return _row(unit, None, unit.size, "unreadable")
        with open(unit.source, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError:
        return _row(unit, None, unit.size, "unreadable")
    if len(data) > max_bytes:
        return _row(unit, None, len(data), "too_large")
    text, error = _decode(data)
    return _row(unit, text, len(data), error)


def _read_git(units: list[Unit], max_bytes: int, skip_vendored: bool) -> list[dict]:
    """Blobs of one repository through one `git cat-file --batch`; a blob it cannot give is read
    alone, and is `git_object_unreadable` when that fails too."""
    rows: list[dict | None] = [None] * len(units)
    wanted = []
    for i, unit in enumerate(units):
        error = _screen(unit, max_bytes, skip_vendored)
        if error:
            rows[i] = _row(unit, None, unit.size, error, unit.extra["commit_time"])
        else:
            wanted.append(i)
    if wanted:
        result = _git(units[0].source, "cat-file", "--batch",
                      data="".join(units[i].extra["sha"] + "\n" for i in wanted).encode())
        out, at = result.stdout, 0
        for i in wanted:
            unit = units[i]
            header_end = out.find(b"\n", at)
            header = out[at:header_end].split() if header_end >= 0 else []
            if len(header) == 3 and header[1] == b"blob" and header[0].decode() == unit.extra["sha"]:
                size = int(header[2])
                data = out[header_end + 1: header_end + 1 + size]
                at = header_end + 1 + size + 1
            else:  # the batch stopped here (a corrupt object ends it): read this blob alone
                alone = _git(unit.source, "cat-file", "blob", unit.extra["sha"])
                at = len(out)
                if alone.returncode != 0:
                    rows[i] = _row(unit, None, unit.size, "git_object_unreadable", unit.extra["commit_time"])
                    continue
                data = alone.stdout
            text, error = _decode(data)
            rows[i] = _row(unit, text, len(data), error, unit.extra["commit_time"])
    return rows  # type: ignore[return-value]


def _column(table: pa.Table, key: str) -> pa.ChunkedArray | None:
    for name in TABLE_COLUMNS[key]:
        if name in table.column_names:
            return table.column(name)
    return None


def _read_table(unit: Unit, max_bytes: int, skip_vendored: bool) -> list[dict]:
    table = pq.ParquetFile(unit.source).read_row_group(unit.extra["row_group"])
    paths, texts = _column(table, "path"), _column(table, "text")
    if paths is None or texts is None:
        raise InputError(f"code.inputs: {unit.source} needs a path column ({'/'.join(TABLE_COLUMNS['path'])}) "
                         f"and a content column ({'/'.join(TABLE_COLUMNS['text'])})")
    columns = {key: _column(table, key) for key in ("repo", "stars", "license", "commit_date")}
    values = {key: (col.to_pylist() if col is not None else [None] * table.num_rows) for key, col in columns.items()}
    rows = []
    for i, (path, text) in enumerate(zip(paths.to_pylist(), texts.to_pylist(), strict=True)):
        licenses = values["license"][i]
        row = {"path": path or "", "repo": values["repo"][i] or "", "stars": values["stars"][i],
               "license": ",".join(licenses) if isinstance(licenses, list) else licenses,
               "commit_date": values["commit_date"][i], "text": None, "size_bytes": 0, "read_error": None}
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        row["size_bytes"] = len(data) if data else 0
        if skip_vendored and languages.is_vendored(row["path"]):
            row["read_error"] = "vendored"
        elif row["size_bytes"] > max_bytes:
            row["read_error"] = "too_large"
        else:
            row["text"], row["read_error"] = _decode(data or b"")
        rows.append(row)
    return rows


def read(units: list[Unit], max_bytes: int, skip_vendored: bool) -> list[dict]:
    """One row per file of the units, in order (git blobs of one repository read in one batch)."""
    rows: list[dict] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if unit.kind == "git":
            j = i
            while j < len(units) and units[j].kind == "git" and units[j].source == unit.source:
                j += 1
            rows.extend(_read_git(units[i:j], max_bytes, skip_vendored))
            i = j
            continue
        if unit.kind == "file":
            rows.append(_read_file(unit, max_bytes, skip_vendored))
        elif unit.kind == "parquet":
            rows.extend(_read_table(unit, max_bytes, skip_vendored))
        else:
            rows.append(_row(unit, None, 0, unit.extra["error"]))
        i += 1
    return rows


def rows_table(rows: list[dict]) -> pa.Table:
    for row in rows:
        date = row["commit_date"]
        if isinstance(date, str):
            import datetime

            try:
                parsed = datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))
                row["commit_date"] = int(parsed.timestamp())
            except ValueError:
                row["commit_date"] = None
        elif hasattr(date, "timestamp"):
            row["commit_date"] = int(date.timestamp())
    schema = pa.schema([f if f.name != "commit_date" else pa.field("commit_date", pa.int64()) for f in FILE_FIELDS])
    table = pa.Table.from_pylist(rows, schema=schema)
    return table.set_column(table.schema.get_field_index("commit_date"), "commit_date",
                            table.column("commit_date").cast(pa.timestamp("s", tz="UTC")))
