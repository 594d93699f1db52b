"""Build filters/github's compiled parts in place (Cython): _scan (the GH Archive line scanner)
and _fragments (thread events → fragments, with _event_json.h: their fields read from the raw JSON).

    .venv/bin/python filters/github/build_native.py      (run by `make setup`)
"""

from __future__ import annotations

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    os.chdir(ROOT)
    extensions = [Extension(f"filters.github.{name}", [f"filters/github/{name}.pyx"],
                            include_dirs=["filters/github"], depends=["filters/github/_event_json.h"],
                            extra_compile_args=["-O2"])
                  for name in ("_scan", "_fragments")]
    setup(name="github-native", py_modules=[], script_args=["build_ext", "--inplace", "--build-temp", "build/scan"],
          ext_modules=cythonize(extensions, language_level=3, quiet=True))
