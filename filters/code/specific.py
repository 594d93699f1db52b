"""OpenCoder's language-specific signals (Python, C, C++, C#, Go, Java, JavaScript, HTML).

Most count declarations per code line (non-blank lines of the code without comments):

    func_ratio       function declarations / code lines
    var_zero         1 when no variable declaration is found
    score_lines_no_logic   (functions + imports + simple variables + simple returns + classes) / code lines
    frac_lines_print       lines that print (print, printf/cout, Console.WriteLine, fmt.Print,
                           System.out.print, console.log) / code lines

Python is read with its own `ast`, JavaScript with tree-sitter (OpenCoder: esprima, an ES2017
parser: files using later syntax fail there and parse here), HTML with the standard library's
HTML parser; C-family, C#, Go and Java with OpenCoder's declaration patterns.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from html.parser import HTMLParser

from filters.code.document import CodeDoc
from filters.code.rules import PRECISION, RULES


def _per_code_line(count: float, doc: CodeDoc) -> float | None:
    total = len(doc.code_lines)
    return round(count / total, PRECISION) if total else None


def _lines_with(doc: CodeDoc, *needles: str) -> float | None:
    total = len(doc.code_lines)
    if not total:
        return None
    return round(sum(1 for line in doc.code_lines if any(n in line for n in needles)) / total, PRECISION)


def _for(language: str, doc: CodeDoc) -> bool:
    return doc.language == language


# ---- Python -------------------------------------------------------------------------------------
class PythonFacts:
    """What the Python rules need from one pass over the module's statements."""

    def __init__(self, tree: ast.Module):
        self.functions = self.classes = self.simple_functions = self.class_variables = 0
        self.has_variable = False
        self.docstrings: list[str] = []
        self._docstring(tree)
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.FunctionDef:
                self.functions += 1
                if node.args.args:
                    self.has_variable = True
                if len(node.body) == 1 and type(node.body[0]) is ast.Return:
                    self.simple_functions += 1
                self._docstring(node)
            elif kind is ast.ClassDef:
                self.classes += 1
                self._docstring(node)
                for item in node.body:
                    if type(item) is ast.Assign:
                        self.class_variables += sum(1 for t in item.targets if type(t) is ast.Name)
                    elif type(item) is ast.AnnAssign and type(item.target) is ast.Name:
                        self.class_variables += 1
            elif kind is ast.Assign:
                if any(type(t) is ast.Name for t in node.targets):
                    self.has_variable = True
                continue
            elif kind is ast.For and type(node.target) is ast.Name:
                self.has_variable = True
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if children:
                    for child in children:
                        if isinstance(child, ast.stmt):
                            stack.append(child)
                        else:  # except handlers and match cases hold statements
                            stack.extend(child.body)

    def _docstring(self, node: ast.AST) -> None:
        body = node.body
        if body and type(body[0]) is ast.Expr and type(body[0].value) is ast.Constant \
                and isinstance(body[0].value.value, str):
            text = inspect.cleandoc(body[0].value.value)
            if text:
                self.docstrings.append(text)


def python_tree(doc: CodeDoc) -> ast.Module | None:
    if "tree" not in doc.__dict__:
        try:
            doc.__dict__["tree"] = ast.parse(doc.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            doc.__dict__["tree"] = None
    return doc.__dict__["tree"]


def python_facts(doc: CodeDoc) -> PythonFacts | None:
    if "python_facts" not in doc.__dict__:
        tree = python_tree(doc)
        doc.__dict__["python_facts"] = PythonFacts(tree) if tree is not None else None
    return doc.__dict__["python_facts"]


_PY_COMMENT = re.compile(r"#[^\n]*|[rRuUbBfFtT]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)|"
                         r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')")


def python_comment_chars(doc: CodeDoc) -> int:
    """Length of OpenCoder's Python natural text: the docstrings (cleaned) joined by newlines, a
    newline, then the `#` comments with every "#" removed, stripped."""
    facts = python_facts(doc)
    docstrings = "\n".join(facts.docstrings) if facts is not None else ""
    comments = "".join(m for m in _PY_COMMENT.findall(doc.text) if m.startswith("#")).replace("#", "")
    return len((docstrings + "\n" + comments).strip())


@RULES.register("qsc_codepython_cate_ast")
def python_cate_ast(doc: CodeDoc) -> float | None:
    return float(python_tree(doc) is not None) if _for("python", doc) else None


@RULES.register("qsc_codepython_frac_lines_func_ratio")
def python_func_ratio(doc: CodeDoc) -> float | None:
    facts = python_facts(doc) if _for("python", doc) else None
    return _per_code_line(facts.functions, doc) if facts is not None else None


@RULES.register("qsc_codepython_cate_var_zero")
def python_var_zero(doc: CodeDoc) -> float | None:
    facts = python_facts(doc) if _for("python", doc) else None
    return float(not facts.has_variable) if facts is not None else None


def _share_of_lines(doc: CodeDoc, needle: str) -> float:
    lines = doc.code_lines_lower
    return round(sum(1 for line in lines if needle in line) / len(lines), PRECISION) if lines else 0.0


@RULES.register("qsc_codepython_frac_lines_pass")
def python_pass(doc: CodeDoc) -> float | None:
    return _share_of_lines(doc, "pass") if _for("python", doc) else None


@RULES.register("qsc_codepython_frac_lines_import")
def python_import(doc: CodeDoc) -> float | None:
    return _share_of_lines(doc, "import") if _for("python", doc) else None


@RULES.register("qsc_codepython_frac_lines_simplefunc")
def python_simplefunc(doc: CodeDoc) -> float | None:
    facts = python_facts(doc) if _for("python", doc) else None
    if facts is None or not doc.code_lines:
        return None
    return facts.simple_functions / len(doc.code_lines)


_PY_RETURN = re.compile(r"^\s*+return(\s+.+)?\s*$", re.MULTILINE)


@RULES.register("qsc_codepython_score_lines_no_logic")
def python_no_logic(doc: CodeDoc) -> float | None:
    facts = python_facts(doc) if _for("python", doc) else None
    if facts is None or not doc.code_lines:
        return None
    imports = sum(1 for line in doc.code_lines_lower if "import" in line)
    returns = len(_PY_RETURN.findall(doc.code))
    return _per_code_line(facts.functions + imports + facts.classes + returns + facts.class_variables, doc)


@RULES.register("qsc_codepython_frac_lines_print")
def python_print(doc: CodeDoc) -> float | None:
    return _lines_with(doc, "print") if _for("python", doc) else None


# ---- C and C++ ------------------------------------------------------------------------------------
_C_FUNCTION = re.compile(r"\b((?:[a-zA-Z_]\w*\s*(?:\*+)?\s+)+(?:\*?\s*[a-zA-Z_]\w*)\((?:[^)]*)\)\s*)")
_C_INCLUDE = re.compile(r"^\s*+#\s*include\s+[\"<][^\">]+[\">]", re.MULTILINE)
_C_CLASS = re.compile(r"^\s*+class\s+\w+\s*(:[^{]*)?\{", re.MULTILINE)
_C_SIMPLE_VAR = re.compile(r"^\s*+(?:unsigned\s+)?(?:int|float|double|char|bool|std::string|auto)\s+\w+\s*;",
                           re.MULTILINE)
_C_SIMPLE_RETURN = re.compile(r"^\s*+return\s*(?:(\w+|\d+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|true|false|nullptr)"
                              r"\s*)?;\s*$", re.MULTILINE)
_C_MAIN = re.compile(r"\bmain\s*\([^)]*\)\s*\{")
_C_VARIABLE = re.compile(r"\b((?:\w+(?:\s+\w+)?)\s+(?:(?:\*+)?\s*[\w\[\]]+\s*(?:=\s*[^;]*)?"
                         r"(?:,\s*(?:\*+)?\s*[\w\[\]]+\s*(?:=\s*[^;]*)?)*)\s*;)")
_C_DIRECTIVE = re.compile(r"#\s*(?:include|define|if|ifdef|ifndef|else|elif|endif|error|pragma|warning|undef|line)"
                          r"|struct|using")
_HEADERS = ("h", "hpp", "hxx", "hh", "h++")


def _c_functions(doc: CodeDoc) -> int:
    if "c_functions" not in doc.__dict__:
        doc.__dict__["c_functions"] = len(_C_FUNCTION.findall(doc.code))
    return doc.__dict__["c_functions"]


def _register_c(prefix: str, language: str, printers: tuple[str, ...]) -> None:
    @RULES.register(f"{prefix}_frac_lines_func_ratio")
    def func_ratio(doc: CodeDoc) -> float | None:
        return _per_code_line(_c_functions(doc), doc) if _for(language, doc) else None

    @RULES.register(f"{prefix}_cate_bitsstdc")
    def bitsstdc(doc: CodeDoc) -> float | None:
        return float("bits/stdc++.h" in doc.code.strip().lower()[:200]) if _for(language, doc) else None

    @RULES.register(f"{prefix}_nums_lines_main")
    def nums_lines_main(doc: CodeDoc) -> float | None:
        return float(len(_C_MAIN.findall(doc.code))) if _for(language, doc) else None

    @RULES.register(f"{prefix}_frac_lines_goto")
    def goto(doc: CodeDoc) -> float | None:
        return _lines_with(doc, "goto") if _for(language, doc) else None

    @RULES.register(f"{prefix}_cate_var_zero")
    def var_zero(doc: CodeDoc) -> float | None:
        return float(_C_VARIABLE.search(doc.code) is None) if _for(language, doc) else None

    @RULES.register(f"{prefix}_score_lines_no_logic")
    def no_logic(doc: CodeDoc) -> float | None:
        if not _for(language, doc):
            return None
        code = doc.code
        count = (_c_functions(doc) + len(_C_INCLUDE.findall(code)) + len(_C_SIMPLE_VAR.findall(code))
                 + len(_C_SIMPLE_RETURN.findall(code)) + len(_C_CLASS.findall(code)))
        return _per_code_line(count, doc)

    @RULES.register(f"{prefix}_frac_lines_preprocessor_directives")
    def preprocessor(doc: CodeDoc) -> float | None:
        if doc.language not in ("c", "cpp") or doc.extension in _HEADERS:
            return None
        return _per_code_line(sum(1 for line in doc.code_lines if _C_DIRECTIVE.search(line)), doc)

    @RULES.register(f"{prefix}_frac_lines_print")
    def printing(doc: CodeDoc) -> float | None:
        return _lines_with(doc, *printers) if _for(language, doc) else None


_register_c("qsc_codec", "c", ("printf",))
_register_c("qsc_codecpp", "cpp", ("cout", "printf"))


# ---- C# --------------------------------------------------------------------------------------------
_CS_FUNCTION = re.compile(r"^\s*+((?:(?:public|protected|private|internal)\s+)?(?:(?:static|virtual|override|abstract"
                          r"|async)\s+)?(?:(?!\s*(?:public|private|protected|if|else)\s*)(?:<\w+>)?\s*\w+\s+)"
                          r"(?:\w+\s*)(?:\((?:[^\)]*)\)))", re.MULTILINE)
_CS_VARIABLE = re.compile(r"\b(?:int|float|double|char|string|var|bool|byte|sbyte|short|ushort|uint|long|ulong|decimal)"
                          r"\s+\w+(?:\s*=\s*[^;\n]+)?")
_CS_USING = re.compile(r"^\s*+using\s+[a-zA-Z0-9_.]+\s*;", re.MULTILINE)
_CS_CLASS = re.compile(r"\b(?:public|private|protected|internal|static|abstract|sealed)?\s*class\s+\w+")
_CS_RETURN = re.compile(r"^\s*+return\b(?:\s+[^;\n]+)?\s*;", re.MULTILINE)
_CS_SIMPLE_VAR = re.compile(r"\b(?:int|float|double|char|string|bool|byte|sbyte|short|ushort|uint|long|ulong|decimal)"
                            r"\s+\w+\s*;")


@RULES.register("qsc_codecsharp_frac_lines_func_ratio")
def csharp_func_ratio(doc: CodeDoc) -> float | None:
    return _per_code_line(len(_CS_FUNCTION.findall(doc.code)), doc) if _for("csharp", doc) else None


@RULES.register("qsc_codecsharp_cate_var_zero")
def csharp_var_zero(doc: CodeDoc) -> float | None:
    return float(_CS_VARIABLE.search(doc.code) is None) if _for("csharp", doc) else None


@RULES.register("qsc_codecsharp_score_lines_no_logic")
def csharp_no_logic(doc: CodeDoc) -> float | None:
    if not _for("csharp", doc):
        return None
    code = doc.code
    count = (len(_CS_FUNCTION.findall(code)) + len(_CS_USING.findall(code)) + len(_CS_SIMPLE_VAR.findall(code))
             + len(_CS_RETURN.findall(code)) + len(_CS_CLASS.findall(code)))
    return _per_code_line(count, doc)


@RULES.register("qsc_codecsharp_frac_lines_print")
def csharp_print(doc: CodeDoc) -> float | None:
    return _lines_with(doc, "Console.WriteLine") if _for("csharp", doc) else None


# ---- Go --------------------------------------------------------------------------------------------
_GO_FUNCTION = re.compile(r"(^func\s+(?:\(\s*\w+\s+\*?\w+\s*\))?\s*(?:\w+)\s*\((?:[^)]*)\)\s*(?:\([^)]+\)|[\w\[\]]+)?\s*)",
                          re.MULTILINE)
_GO_CLASS = re.compile(r"^\s*+type\s+\w+\s+(struct|interface)\s*\{[^}]*\}", re.MULTILINE | re.DOTALL)
_GO_RETURN = re.compile(r"^\s*+return(?:\s+[^;\n]+)?\s*;?\s*$", re.MULTILINE)
_GO_VARIABLE = re.compile(r"^\s*+((?:var|const)\s+\w+(?:,\s*\w+)*\s+[\w\[\]\*]+|(?:var|const)\s+\w+(?:,\s*\w+)*"
                          r"(?:\s+[\w\[\]\*]+)?\s*=\s*[^;\n]+|\w+(?:\s*,\s*\w+)*\s*:=\s*[^;\n]+"
                          r"|(?:var|const)\s+\(\s*(?:\w+\s+[\w\*\[\]]+\s*)+\))", re.MULTILINE)
_GO_SIMPLE_VAR = re.compile(r"^\s*+var\s+(\w+)\s+(\w+)\s*;?\s*$", re.MULTILINE)
_GO_IMPORT = re.compile(r'^import\s+"[^"]+"$')


def _go_imports(code: str) -> int:
    """Single-line imports and `import (` lines (OpenCoder counts the block's first line only)."""
    count = 0
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped == "import (" or _GO_IMPORT.match(stripped):
            count += 1
    return count


@RULES.register("qsc_codego_cate_testfile")
def go_testfile(doc: CodeDoc) -> float | None:
    return float(doc.filename.lower().endswith("_test.go")) if _for("go", doc) else None


@RULES.register("qsc_codego_frac_lines_func_ratio")
def go_func_ratio(doc: CodeDoc) -> float | None:
    return _per_code_line(len(_GO_FUNCTION.findall(doc.code)), doc) if _for("go", doc) else None


@RULES.register("qsc_codego_cate_var_zero")
def go_var_zero(doc: CodeDoc) -> float | None:
    return float(_GO_VARIABLE.search(doc.code) is None) if _for("go", doc) else None


@RULES.register("qsc_codego_score_lines_no_logic")
def go_no_logic(doc: CodeDoc) -> float | None:
    if not _for("go", doc):
        return None
    code = doc.code
    count = (len(_GO_FUNCTION.findall(code)) + _go_imports(code) + len(_GO_SIMPLE_VAR.findall(code))
             + len(_GO_RETURN.findall(code)) + len(_GO_CLASS.findall(code)))
    return _per_code_line(count, doc)


@RULES.register("qsc_codego_frac_lines_print")
def go_print(doc: CodeDoc) -> float | None:
    return _lines_with(doc, "fmt.Print") if _for("go", doc) else None


# ---- Java ------------------------------------------------------------------------------------------
_JAVA_FUNCTION = re.compile(r"^\s*+((?:(?:public|protected|private|static)\s+)*(?:(?!\s*(?:public|private|protected"
                            r"|else|if)\s*)(?:<\w+>)?\s*\w+\s+)(?:\w+\s*)(?:\((?:[^\)]*)\))"
                            r"(?:\s*throws\s+[\w\, ]+)?)", re.MULTILINE)
_JAVA_IMPORT = re.compile(r"^\s*+import\s+([\w\.\*]+)\s*;\s*$", re.MULTILINE)
_JAVA_SIMPLE_VAR = re.compile(r"^\s*+((?:(?:public|protected|private|final|static)\s+)*(?:int|float|boolean|char|double"
                              r"|String|(?:[A-Z][\w<>]*))\s+(\w+)\s*;)", re.MULTILINE)
_JAVA_VARIABLE = re.compile(r"^\s*+((?:(?:public|protected|private|final|static)\s+)*(?:int|float|boolean|char|double"
                            r"|String|(?:[A-Z][\w<>]*))\s+(?:\w+)\s*(?:\s*=\s*[^;]+)?;)", re.MULTILINE)
_JAVA_RETURN = re.compile(r"^\s*+(return(?:;|\s+(?:\w*|\"(?:[^\"\\]*(?:\\.[^\"\\]*)*)\")\s*;\s*))$", re.MULTILINE)
_JAVA_CLASS = re.compile(r"^\s*+((?:public\s+|protected\s+|private\s+)?(?:final\s+|abstract\s+)?class\s+([\w<>]+))",
                         re.MULTILINE)


def _java_functions(doc: CodeDoc) -> int:
    if "java_functions" not in doc.__dict__:
        doc.__dict__["java_functions"] = len(_JAVA_FUNCTION.findall(doc.code))
    return doc.__dict__["java_functions"]


@RULES.register("qsc_codejava_cate_var_zero")
def java_var_zero(doc: CodeDoc) -> float | None:
    return float(_JAVA_VARIABLE.search(doc.code) is None) if _for("java", doc) else None


@RULES.register("qsc_codejava_frac_lines_func_ratio")
def java_func_ratio(doc: CodeDoc) -> float | None:
    return _per_code_line(_java_functions(doc), doc) if _for("java", doc) else None


@RULES.register("qsc_codejava_score_lines_no_logic")
def java_no_logic(doc: CodeDoc) -> float | None:
    if not _for("java", doc):
        return None
    code = doc.code
    count = (_java_functions(doc) + len(_JAVA_IMPORT.findall(code)) + len(_JAVA_SIMPLE_VAR.findall(code))
             + len(_JAVA_RETURN.findall(code)) + len(_JAVA_CLASS.findall(code)))
    return _per_code_line(count, doc)


@RULES.register("qsc_codejava_frac_lines_print")
def java_print(doc: CodeDoc) -> float | None:
    return _lines_with(doc, "System.out.print") if _for("java", doc) else None


# ---- JavaScript ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _js_parser():
    import tree_sitter
    import tree_sitter_javascript

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))


_JS_SIMPLE = {"string", "number", "true", "false", "null", "regex", "identifier", "undefined", "unary_expression"}


class JavascriptFacts:
    """Declarations of a parsed script, counted as OpenCoder's esprima walk counts them."""

    def __init__(self, root):
        self.variables = self.functions = self.classes = self.simple_returns = 0
        self.imports = self.simple_variables = 0
        stack = [root]
        while stack:
            node = stack.pop()
            kind = node.type
            if kind in ("variable_declaration", "lexical_declaration"):
                for declarator in node.named_children:
                    if declarator.type != "variable_declarator":
                        continue
                    name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
                    is_function = value is not None and value.type == "function_expression"
                    if is_function and name is not None and name.type == "identifier":
                        self.functions += 1
                    if not is_function and name is not None and name.type == "identifier":
                        self.variables += 1
                    if not is_function and (value is None or value.type in _JS_SIMPLE):
                        self.simple_variables += 1
            elif kind in ("function_declaration", "generator_function_declaration"):
                self.functions += 1
            elif kind == "class_declaration":
                self.classes += 1
            elif kind == "import_statement":
                self.imports += 1
            elif kind == "return_statement":
                values = [c for c in node.named_children if c.type != "comment"]
                if not values or values[0].type in _JS_SIMPLE:
                    self.simple_returns += 1
            elif kind == "assignment_expression":
                self._exports(node)
            stack.extend(node.named_children)

    def _exports(self, node) -> None:
        """module.exports.NAME = value: a function, or a (simple) variable."""
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.type != "member_expression":
            return
        inner = left.child_by_field_name("object")
        if inner is None or inner.type != "member_expression" or inner.text != b"module.exports":
            return
        if right.type in ("function_expression", "arrow_function"):
            self.functions += 1
        else:
            self.variables += 1
            if right.type in _JS_SIMPLE:
                self.simple_variables += 1


def javascript_facts(doc: CodeDoc) -> JavascriptFacts | None:
    if "js_facts" not in doc.__dict__:
        tree = _js_parser().parse(doc.text.encode("utf-8", "surrogatepass"))
        doc.__dict__["js_facts"] = None if tree.root_node.has_error else JavascriptFacts(tree.root_node)
    return doc.__dict__["js_facts"]


@RULES.register("qsc_codejavascript_cate_ast")
def javascript_cate_ast(doc: CodeDoc) -> float | None:
    return float(javascript_facts(doc) is not None) if _for("javascript", doc) else None


@RULES.register("qsc_codejavascript_cate_var_zero")
def javascript_var_zero(doc: CodeDoc) -> float | None:
    facts = javascript_facts(doc) if _for("javascript", doc) else None
    return float(facts.variables == 0) if facts is not None else None


@RULES.register("qsc_codejavascript_frac_lines_func_ratio")
def javascript_func_ratio(doc: CodeDoc) -> float | None:
    facts = javascript_facts(doc) if _for("javascript", doc) and doc.code_lines else None
    return _per_code_line(facts.functions, doc) if facts is not None else None


@RULES.register("qsc_codejavascript_score_lines_no_logic")
def javascript_no_logic(doc: CodeDoc) -> float | None:
    facts = javascript_facts(doc) if _for("javascript", doc) and doc.code_lines else None
    if facts is None:
        return None
    return _per_code_line(facts.functions + facts.imports + facts.simple_variables + facts.simple_returns
                          + facts.classes, doc)


@RULES.register("qsc_codejavascript_frac_lines_print")
def javascript_print(doc: CodeDoc) -> float | None:
    return _lines_with(doc, "console.log") if _for("javascript", doc) else None


# ---- HTML ------------------------------------------------------------------------------------------
class _Text(HTMLParser):
    """The page's text as an html.parser tree holds it: data outside script, style and template."""

    SKIP = ("script", "style", "template")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chars = 0
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.chars += len(data)


def html_text_chars(doc: CodeDoc) -> int | None:
    if "html_text" not in doc.__dict__:
        parser = _Text()
        try:
            parser.feed(doc.text)
            parser.close()
            doc.__dict__["html_text"] = parser.chars
        except Exception:  # noqa: BLE001 - a page the parser cannot read is a parse failure (cate_ast)
            doc.__dict__["html_text"] = None
    return doc.__dict__["html_text"]


@RULES.register("qsc_codehtml_cate_ast")
def html_cate_ast(doc: CodeDoc) -> float | None:
    return float(html_text_chars(doc) is not None) if _for("html", doc) else None


@RULES.register("qsc_codehtml_frac_words_text")
def html_frac_words_text(doc: CodeDoc) -> float | None:
    chars = html_text_chars(doc) if _for("html", doc) and doc.text else None
    return round(chars / len(doc.text), PRECISION) if chars is not None else None


@RULES.register("qsc_codehtml_num_chars_text")
def html_num_chars_text(doc: CodeDoc) -> float | None:
    chars = html_text_chars(doc) if _for("html", doc) else None
    return float(chars) if chars is not None else None
