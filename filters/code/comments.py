"""Split a source file into its code and its comments, the way OpenCoder's signals see them.

OpenCoder runs pygments' lexer for the file's language and calls comment every token of type
Comment.Single, Comment.Multiline, Comment.Hashbang, Comment.Special or String.Doc (Python
docstrings); everything else, preprocessor lines included, is code. For the languages that carry
most code we scan with one compiled regex per language family instead of lexing, following what
those lexers match (measured against pygments in tests/code/test_comments.py):

- which single-line comments take their newline with them (pygments' C, C++, C#, shell and SQL
  lexers do, so the code lines around such a comment join; Java, Go, JavaScript and Python do not);
- strings are skipped, so a `//` or `#` inside a string is code;
- Python docstrings: a triple-quoted string that starts a line (prefix r/u/b allowed);
- HTML: `<!-- -->` comments, and JavaScript comments inside `<script>` elements.

Any other language with a pygments lexer is lexed by pygments itself (exact, slower); a language
pygments does not know gets OpenCoder's line rule (lines starting with #, // or -- and blocks
between lines starting or ending with \"\"\" or /* */ are comments).
"""

from __future__ import annotations

import functools
import re

# one alternation per family: named group "c" = a comment, anything else matched is skipped (strings)
_C_STRINGS = r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])\'|\'\\[0-7]{1,3}\'|\'\\x[0-9a-fA-F]{1,2}\''
_FAMILIES: dict[str, str] = {
    # C, C++, C#: `//` comments take their newline (pygments: //(?:.|(?<=\\)\n)*\n)
    "c_nl": r"(?P<c>//(?:[^\n]|(?<=\\)\n)*\n?|/\*[\s\S]*?(?:\*/|\Z))|R\"(?P<d>[^(\s]{0,16})\([\s\S]*?\)(?P=d)\"|"
            r"@\"(?:\"\"|[^\"])*\"|" + _C_STRINGS,
    # Java, Go, JavaScript-like: the newline stays code
    "c": r"(?P<c>//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|`(?:\\.|[^`\\])*`|" + _C_STRINGS,
    "javascript": r"(?P<c>\A#! ?/[^\n]*|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z))|`(?:\\.|[^`\\])*`|"
                  r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
    "python": r"(?P<c>#[^\n]*|(?m:^)[ \t\f]*(?P<doc>[rRuUbB]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?''')))|"
              r"[rRuUbBfFtT]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)|\"(?:\\.|[^\"\\\n])*\"|"
              r"'(?:\\.|[^'\\\n])*')",
    # shell: `#` starts a comment at a word start; the comment takes its newline
    "shell": r"(?P<c>(?:(?<=[\s;&|(){}`])|(?m:^))#[^\n]*\n?)|\$#|\$\{#|\"(?:\\.|[^\"\\])*\"|'[^']*'",
    "sql": r"(?P<c>--[^\n]*\n?|/\*[\s\S]*?(?:\*/|\Z))|'(?:''|[^'])*'|\"(?:\"\"|[^\"])*\"",
    "html": r"(?P<c><!--[\s\S]*?-->)|(?i:<script\b[^>]*>)(?P<js>[\s\S]*?)(?i:</script\s*>)",
}
_FAMILY_OF = {
    "c": "c_nl", "cpp": "c_nl", "csharp": "c_nl", "java": "c", "go": "c", "javascript": "javascript",
    "python": "python", "shell": "shell", "sql": "sql", "html": "html",
}


@functools.cache
def _pattern(family: str) -> re.Pattern:
    return re.compile(_FAMILIES[family])


def prepared(text: str) -> str:
    """What pygments lexes: newlines as \\n, no leading or trailing blank lines, one final \\n."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip("\n") + "\n"


def _scan(text: str, family: str) -> tuple[str, str]:
    code: list[str] = []
    comments: list[str] = []
    at = 0
    for match in _pattern(family).finditer(text):
        if family == "html" and match.group("js") is not None:
            inner_code, inner_comments = _scan(match.group("js"), "javascript")
            start = match.start("js")
            code.append(text[at:start])
            code.append(inner_code)
            comments.append(inner_comments)
            at = match.end("js")
            continue
        if match.group("c") is None:
            continue
        start = match.start("doc") if family == "python" and match.group("doc") is not None else match.start()
        code.append(text[at:start])
        comments.append(text[start:match.end()])
        at = match.end()
    code.append(text[at:])
    return "".join(code), "".join(comments)


def _by_pygments(text: str, lexer) -> tuple[str, str]:
    import pygments
    from pygments import token

    kinds = {token.Comment.Multiline, token.Comment.Single, token.String.Doc, token.Comment.Hashbang,
             token.Comment.Special}
    code: list[str] = []
    comments: list[str] = []
    for kind, value in pygments.lex(text, lexer):
        (comments if kind in kinds else code).append(value)
    return "".join(code), "".join(comments)


def _by_lines(text: str) -> tuple[str, str]:
    """OpenCoder's rule for languages pygments does not know, on lines with their newline."""
    code: list[str] = []
    comments: list[str] = []
    inside = flag = False
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):
        stripped = line.strip()
        if stripped.startswith(('"""', "/*")) or stripped.endswith(('"""', "*/")):
            inside = not inside
            flag = inside
            comments.append(line)
        elif stripped.startswith(("#", "//", "--")) or inside:
            inside = True
            comments.append(line)
        elif stripped == "\n" and flag:  # never true after strip(); kept as the rule reads
            comments.append(line)
        else:
            flag = False
            code.append(line)
    return "".join(code), "".join(comments)


@functools.cache
def _lexer(language: str):
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


def split(text: str, language: str) -> tuple[str, str]:
    """(code, comments) of a file in `language` (OpenCoder's language key, e.g. "cpp")."""
    family = _FAMILY_OF.get(language)
    if family is not None:
        return _scan(prepared(text), family)
    if language == "perl":
        return _perl(text)
    if language == "json" and "//" not in text and "/*" not in text:  # pygments' JSON comments need these
        return prepared(text), ""
    lexer = _lexer(language)
    if lexer is None:
        return _by_lines(text)
    return _by_pygments(text, lexer)


def _perl(text: str) -> tuple[str, str]:
    """OpenCoder's POD/hash rule for Perl (lines from `=word` to `=cut`, and `#` lines)."""
    code: list[str] = []
    comments: list[str] = []
    inside = False
    for line in re.findall(r"[^\n]*\n|[^\n]+$", text):
        stripped = line.strip()
        if stripped.startswith("=cut"):
            inside = False
            comments.append(line)
        elif stripped.startswith("="):
            inside = True
            comments.append(line)
        elif stripped.startswith("#") or inside:
            comments.append(line)
        else:
            code.append(line)
    return "".join(code), "".join(comments)
