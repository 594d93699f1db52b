"""File typing from linguist's data (through enry): 20+ mainstream languages by name, real files of
the Debian packages `make sysdeps` installs, and what the rules do to minified vs hand-written jQuery."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from filters.code import languages, specific  # noqa: F401 - registers the language rules
from filters.code.config import DEFAULT_EXCLUDED, DEFAULT_TYPE_OVERRIDES, CodeConfig
from filters.code.document import CodeDoc
from filters.code.hits import fired, profile_of, signals
from pipeline.config import validate_section

STDLIB = Path(sysconfig.get_paths()["stdlib"])
JQUERY = Path("/usr/share/javascript/jquery")
GO_SRC = Path("/usr/share/go-1.19/src")
CUTS = validate_section(CodeConfig, {}, "code").model_dump()["rules"]

# file name → (linguist language, OpenCoder's language key, doc type)
NAMES = {
    "setup.py": ("Python", "python", "code"), "main.c": ("C", "c", "code"), "util.cpp": ("C++", "cpp", "code"),
    "Program.cs": ("C#", "csharp", "code"), "server.go": ("Go", "go", "code"), "App.java": ("Java", "java", "code"),
    "index.js": ("JavaScript", "javascript", "code"), "app.ts": ("TypeScript", "typescript", "code"),
    "page.html": ("HTML", "html", "code"), "build.sh": ("Shell", "shell", "code"), "schema.sql": ("SQL", "sql", "code"),
    "lib.rs": ("Rust", "rust", "code"), "model.rb": ("Ruby", "ruby", "code"), "index.php": ("PHP", "php", "code"),
    "Main.kt": ("Kotlin", "kotlin", "code"), "View.swift": ("Swift", "swift", "code"),
    "Main.scala": ("Scala", "scala", "code"), "init.lua": ("Lua", "lua", "code"), "script.pl": ("Perl", "perl", "code"),
    "analysis.R": ("R", "r", "code"), "main.dart": ("Dart", "dart", "code"), "Main.hs": ("Haskell", "haskell", "code"),
    "style.css": ("CSS", "css", "data"), "config.json": ("JSON", "json", "data"), "ci.yaml": ("YAML", "yaml", "data"),
    "README.md": ("Markdown", "markdown", "text"), "paper.tex": ("TeX", "tex", "text"),
    "Makefile": ("Makefile", "makefile", "code"), "Dockerfile": ("Dockerfile", "dockerfile", "code"),
    "data.csv": ("CSV", "csv", "excluded"),
}


# extensions linguist shares between languages: the content decides (an empty file is Smalltalk/Hack/XML)
CONTENT = {"Program.cs": b"using System;\nnamespace App { class Program { static void Main() {} } }\n",
           "index.php": b"<?php\necho 'hello';\n", "lib.rs": b"pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"}


def _typed(path: str, head: bytes = b"") -> tuple[str, str, str]:
    name = languages.language_of(path, head)
    return name, languages.language_key(name), languages.doc_type(name, DEFAULT_TYPE_OVERRIDES, frozenset(DEFAULT_EXCLUDED))


@pytest.mark.parametrize("name", sorted(NAMES))
def test_mainstream_languages_are_typed_by_name(name):
    assert _typed(f"repo/src/{name}", CONTENT.get(name, b"")) == NAMES[name]


def test_ambiguous_extensions_are_decided_by_content():
    cpp_header = b"#pragma once\nnamespace app {\nclass Widget {\n public:\n  virtual ~Widget();\n};\n}\n"
    c_header = b"#ifndef A_H\n#define A_H\nstruct point { int x, y; };\nint area(struct point *p);\n#endif\n"
    assert _typed("widget.h", cpp_header)[0] == "C++"
    assert _typed("point.h", c_header)[0] == "C"


def test_real_files_of_the_installed_corpora_are_typed():
    real = {STDLIB / "json" / "decoder.py": "Python", STDLIB / "venv" / "scripts" / "common" / "Activate.ps1": "PowerShell",
            GO_SRC / "fmt" / "print.go": "Go", JQUERY / "jquery.js": "JavaScript", JQUERY / "jquery.min.js": "JavaScript",
            Path("/usr/include/stdio.h"): "C"}
    missing = [str(p) for p in real if not p.exists()]
    assert not missing, f"needs the Debian packages of `make sysdeps`: {missing}"
    for path, language in real.items():
        assert _typed(str(path), path.read_bytes()[:16384])[0] == language, path


def _hits(path: Path) -> list[str]:
    text = path.read_text()
    name, key, kind = _typed(str(path), text[:16384].encode())
    doc = CodeDoc(text, path.name, path.suffix.lstrip("."), path.stat().st_size, key, kind)
    profile = profile_of(kind, key, "en")
    return fired(signals(doc, CUTS[profile]), CUTS[profile], path.name, 1)


def test_minified_jquery_collects_the_hits_the_rules_intend_and_the_source_does_not():
    assert (JQUERY / "jquery.min.js").exists(), "needs libjs-jquery (make sysdeps installs it)"
    minified, source = _hits(JQUERY / "jquery.min.js"), _hits(JQUERY / "jquery.js")
    # one very long line: too few lines, too long a line, too many characters per line
    assert {"qsc_code_num_lines", "qsc_code_num_chars_line_max", "qsc_code_num_chars_line_mean"} <= set(minified)
    assert len(source) <= 2, source
