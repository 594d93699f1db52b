"""File path → programming language (GitHub linguist names), by extension or well-known file name."""

from __future__ import annotations

from pathlib import PurePosixPath

EXTENSIONS = {
    ".py": "Python", ".pyi": "Python", ".pyx": "Python", ".java": "Java", ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".hpp": "C++", ".hh": "C++", ".hxx": "C++", ".cs": "C#",
    ".go": "Go", ".rs": "Rust", ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript",
    ".jsx": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript", ".mts": "TypeScript",
    ".php": "PHP", ".rb": "Ruby", ".rake": "Ruby", ".kt": "Kotlin", ".kts": "Kotlin", ".swift": "Swift",
    ".scala": "Scala", ".sc": "Scala", ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell", ".lua": "Lua",
    ".pl": "Perl", ".pm": "Perl", ".r": "R", ".R": "R", ".dart": "Dart", ".hs": "Haskell",
    ".m": "Objective-C", ".mm": "Objective-C", ".sql": "SQL", ".jl": "Julia", ".ex": "Elixir",
    ".exs": "Elixir", ".erl": "Erlang", ".hrl": "Erlang", ".clj": "Clojure", ".cljs": "Clojure",
    ".ml": "OCaml", ".mli": "OCaml", ".fs": "F#", ".fsx": "F#", ".f90": "Fortran", ".f": "Fortran",
    ".f95": "Fortran", ".groovy": "Groovy", ".gradle": "Groovy", ".ps1": "PowerShell", ".vue": "Vue",
    ".zig": "Zig", ".nim": "Nim", ".asm": "Assembly", ".s": "Assembly", ".S": "Assembly", ".cu": "CUDA",
    ".cuh": "CUDA", ".vb": "Visual Basic .NET", ".mat": "MATLAB",
}
FILE_NAMES = {"Rakefile": "Ruby", "Gemfile": "Ruby", "build.gradle": "Groovy"}


def language_of(path: str) -> str | None:
    name = PurePosixPath(path).name
    if name in FILE_NAMES:
        return FILE_NAMES[name]
    suffix = PurePosixPath(name).suffix
    return EXTENSIONS.get(suffix) or EXTENSIONS.get(suffix.lower())


def languages_of(paths) -> list[str]:
    """The languages of these paths, most files first (ties by name)."""
    counts: dict[str, int] = {}
    for path in paths:
        language = language_of(path)
        if language:
            counts[language] = counts.get(language, 0) + 1
    return sorted(counts, key=lambda lang: (-counts[lang], lang))
