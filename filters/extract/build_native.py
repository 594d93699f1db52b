"""Build filters/extract/_blocks (Cython, against the headers lxml ships) in place.

    .venv/bin/python filters/extract/build_native.py      (run by `make setup`)
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
    extension = Extension("filters.extract._blocks", ["filters/extract/_blocks.pyx"],
                          include_dirs=lxml.get_include(), language="c++",
                          extra_compile_args=["-O2", "-std=c++17"])
    setup(name="blocks", py_modules=[], script_args=["build_ext", "--inplace", "--build-temp", "build/blocks"],
          ext_modules=cythonize([extension], language_level=3, quiet=True))
