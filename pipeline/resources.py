"""Packaged files (models, word lists, tables) as real paths, wherever the code runs from.

From a checkout or a venv a packaged file is just its path. Under `spark-submit --py-files`, the
project's code is imported from a zip, where a library that opens a path (fastText, sentence-
transformers, numpy) finds nothing: the file (or folder) is then extracted once per machine into
`~/.cache/crawl-to-tokens/resources/<zip>/`, under a lock, and that copy's path is returned.

    MODEL = resource(Path(__file__).parent / "models" / "quality.ftz")

Tables of several MB that the pipeline distils itself from packaged models are not committed: `make
setup` builds them (`BUILT_AT_SETUP`), and the repository keeps their sha256 to check each build.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

BUILT_AT_SETUP = {
    "filters/quality/models/static_minilm.npz": "python -m filters.quality.static_embed",
    "filters/embed/models/minilm_static.npz": "python -m filters.embed.distill",
}
CACHE = Path(os.environ.get("PIPELINE_RESOURCE_CACHE", Path.home() / ".cache" / "crawl-to-tokens" / "resources"))


def resource(path: str | Path) -> Path:
    """`path` itself when it exists on disk, else its copy extracted from the zip it lies in."""
    path = Path(path)
    if path.exists():
        return path
    found = _inside_zip(path)
    if found is None:
        raise FileNotFoundError(_missing(path))
    archive, member = found
    stat = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    target = CACHE / key / member
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            _extract(archive, member, target)
    return target


def _inside_zip(path: Path) -> tuple[Path, str] | None:
    """(zip file, member path inside it) when some parent of `path` is a zip file."""
    for parent in path.parents:
        if parent.is_file() and zipfile.is_zipfile(parent):
            return parent, path.relative_to(parent).as_posix()
    return None


def _extract(archive: Path, member: str, target: Path) -> None:
    """Extract one member, or every member under it (a folder), then rename into place."""
    staging = target.with_name(f".tmp-{os.getpid()}-{target.name}")
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if n == member or n.startswith(member.rstrip("/") + "/")]
        if not names:
            raise FileNotFoundError(f"packaged file not found: {member} in {archive}")
        for name in names:
            if name.endswith("/"):
                continue
            out = staging if name == member else staging / name[len(member.rstrip("/")) + 1:]
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    os.replace(staging, target)


def _missing(path: Path) -> str:
    """The error for an absent packaged file: says how to build it when setup builds it."""
    for relative, command in BUILT_AT_SETUP.items():
        if path.as_posix().endswith(relative):
            return f"{path} is not built: run `make setup` (it runs `{command}`, offline, a few minutes)"
    return f"packaged file not found: {path}"


def check_build(path: Path, expected_sha256: str) -> bool:
    """Compare a freshly built table with the hash the repository records; say so when it differs
    (another CPU or library version may round differently: the table still works, but the models
    trained on the recorded one no longer see exactly the same inputs)."""
    actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if actual != expected_sha256:
        print(f"warning: {path} differs from the recorded build (sha256 {actual[:12]}, recorded "
              f"{expected_sha256[:12]}): rounding differs on this machine or library versions")
    return actual == expected_sha256
