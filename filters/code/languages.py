"""File typing: which language a file is in, and which of OpenCoder's routes it takes.

The language comes from GitHub linguist's data (languages.yml, heuristics, vendor.yml) as compiled
into go-enry, through its Python binding (enry-python, pinned): filename, extension, then content
where an extension is ambiguous (.h: C or C++, .m: Objective-C or MATLAB…). Not a table of ours.

Routing (OpenCoder's compute_filtering.py): linguist's type gives the doc type (programming → code,
data → data, prose → text, markup → code), with OpenCoder's exceptions in `code.type_overrides`;
a language in `code.excluded_languages` is dropped; a file with no language is "unknown" and
dropped. The language key is linguist's name lower-cased, with OpenCoder's keys for C++ (cpp),
C# (csharp) and Shell (shell).
"""

from __future__ import annotations

import functools

KEYS = {"c++": "cpp", "c#": "csharp"}
TYPES = {"programming": "code", "data": "data", "prose": "text", "markup": "code"}
CONTENT_SAMPLE = 16 << 10  # bytes of content linguist's heuristics and classifier look at


def language_of(path: str, head: bytes) -> str:
    """Linguist's language name for a file ("" when none): by name, then extension and content."""
    import enry

    name = path.rsplit("/", 1)[-1]
    by_name = enry.get_language_by_filename(name)
    if by_name.language:
        return by_name.language
    return enry.get_language(name, head[:CONTENT_SAMPLE])


def language_key(language: str) -> str:
    """OpenCoder's key for a linguist language ("C++" → "cpp", "Python" → "python")."""
    lower = language.lower()
    return KEYS.get(lower, lower)


@functools.lru_cache(maxsize=4096)
def linguist_type(language: str) -> str:
    import enry

    return enry.get_language_type(language) if language else "unknown"


def doc_type(language: str, overrides: dict[str, str], excluded: frozenset[str]) -> str:
    """code | data | text | excluded | unknown."""
    if not language:
        return "unknown"
    if language.lower() in excluded:
        return "excluded"
    if language in overrides:
        return overrides[language]
    return TYPES.get(linguist_type(language), "unknown")


def is_vendored(path: str) -> bool:
    import enry

    return bool(enry.is_vendor(path))


def is_binary(head: bytes) -> bool:
    import enry

    return bool(enry.is_binary(head[:8000]))
