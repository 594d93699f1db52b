"""Build filters/extract/_markwalk (Cython, against the headers lxml ships) in place.

    .venv/bin/python filters/extract/build_markwalk.py      (run by `make setup`)

Without the build, fast_xpaths.mark walks in Python (same result, slower).
"""

from __future__ import annotations

import os
from pathlib import Path

import lxml
from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    os.chdir(ROOT)
    extension = Extension("filters.extract._markwalk", ["filters/extract/_markwalk.pyx"],
                          include_dirs=lxml.get_include())
    setup(name="markwalk", py_modules=[], script_args=["build_ext", "--inplace", "--build-temp", "build/markwalk"],
          ext_modules=cythonize([extension], language_level=3, quiet=True))
