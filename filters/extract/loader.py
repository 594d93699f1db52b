"""Import a compiled extension of this package, also from a --py-files zip.

`make setup` builds filters/extract/_blocks in place (build_native.py). Under `make submit`
the project's code reaches Spark executors as a zip, and Python cannot import an extension
module from a zip: the module's file is then copied out of the zip once per process, into a
folder named by its content hash under the temporary directory, and loaded from there. A missing
build is one clear error naming the command that builds it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType


def load_extension(name: str) -> ModuleType:
    """The compiled module `name` (dotted), imported normally or copied out of a zip."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        module = _from_zip(name)
        if module is not None:
            return module
        raise ImportError(
            f"{name} is not built: run `make setup` (or .venv/bin/python filters/extract/build_native.py)"
        ) from exc


def _from_zip(name: str) -> ModuleType | None:
    package, _, leaf = name.rpartition(".")
    package_file = Path(sys.modules[package].__file__ or "")
    parts = package_file.parent.parts
    for i in range(len(parts), 0, -1):
        archive = Path(*parts[:i])
        if zipfile.is_zipfile(archive):
            inner = "/".join(parts[i:])
            return _load_from(archive, inner, name, leaf)
    return None


def _load_from(archive: Path, inner: str, name: str, leaf: str) -> ModuleType | None:
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if m.startswith(f"{inner}/{leaf}.")
                   and any(m.endswith(s) for s in suffixes)]
        if not members:
            return None
        data = zf.read(members[0])
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"crawl-to-tokens-ext-{os.getuid()}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(members[0]).name
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: concurrent executors see a whole file
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
