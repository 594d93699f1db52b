"""Build filters/github/_scan (Cython: the GH Archive line scanner) in place.

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
    extension = Extension("filters.github._scan", ["filters/github/_scan.pyx"], extra_compile_args=["-O2"])
    setup(name="scan", py_modules=[], script_args=["build_ext", "--inplace", "--build-temp", "build/scan"],
          ext_modules=cythonize([extension], language_level=3, quiet=True))
