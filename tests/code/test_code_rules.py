"""Each OpenCoder rule: a minimal file that just fires it, and a real file that does not."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from filters.code import specific  # noqa: F401 - registers the language rules
from filters.code.config import DEFAULT_RULES, CodeConfig
from filters.code.document import CodeDoc
from filters.code.hits import fired, fires, profile_of, signals
from filters.code.rules import RULES
from pipeline.config import validate_section

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CUTS = validate_section(CodeConfig, {}, "code").model_dump()["rules"]

PY_BODY = "".join(f"def f{i}(a, b):\n    total = a + b * {i}\n    if total > 10:\n        total -= 1\n"
                  f"    return total\n\n" for i in range(8))
C_BODY = "".join(f"int f{i}(int a) {{\n    int x = a * {i};\n    if (x > 3) {{\n        x -= 2;\n    }}\n"
                 f"    return x + a;\n}}\n" for i in range(6))

# rule → (language, file that fires it)
FIRING = {
    "qsc_code_num_words": ("python", "x = 1\n" * 12),
    "qsc_code_num_chars": ("python", "a=1\n" * 10),
    "qsc_code_num_lines": ("python", "value = compute_the_answer(first_argument, second_argument) + 1\n" * 3),
    "qsc_code_num_chars_line_max": ("python", PY_BODY + "x = '" + "ab cd " * 200 + "'\n"),
    "qsc_code_frac_chars_replacement_symbols": ("python", PY_BODY + "# \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\n" * 5),
    "qsc_code_cate_xml_start": ("python", '<?xml version="1.0"?>\n' + PY_BODY),
    "qsc_code_cate_autogen": ("python", "# This file is auto-generated. Do not edit.\n" + PY_BODY),
    "qsc_code_frac_chars_comments": ("python", PY_BODY[:200] + "# " + "words in a long comment " * 300 + "\n"),
    "qsc_code_frac_lines_prompt_comments": ("python", PY_BODY + "# TODO: your code here\n"),
    "qsc_code_frac_lines_assert": ("python", "def test():\n" + "".join(f"    assert f({i}) == {i}\n" for i in range(20))),
    "qsc_code_frac_chars_hex_words": ("c", "unsigned char t[] = {\n" + "0xDEADBEEF, 0xCAFEBABE,\n" * 40 + "};\n"),
    "qsc_code_cate_encoded_data": ("python", PY_BODY + "DATA = '" + "QUJD" * 300 + "'\n"),
    "qsc_code_frac_chars_digital": ("python", PY_BODY[:100] + "\n".join("x = [" + ", ".join(str(1000 + j) for j in range(20)) + "]" for _ in range(20)) + "\n"),
    "qsc_code_frac_chars_string_length": ("python", "".join(f"s{i} = 'a long string literal with many words in it {i}'\n" for i in range(20))),
    "qsc_code_frac_lines_dupe_lines": ("python", "import os\n" + "print(os.getcwd())\n" * 30),
    "qsc_code_frac_chars_top_2grams": ("python", "foo bar\n" * 40),
    "qsc_codepython_cate_ast": ("python", PY_BODY + "def broken(:\n"),
    "qsc_codepython_frac_lines_pass": ("python", "".join(f"class E{i}(Exception):\n    pass\n" for i in range(10)) + PY_BODY),
    "qsc_codepython_frac_lines_import": ("python", "".join(f"import mod{i}\n" for i in range(30)) + PY_BODY),
    "qsc_codepython_frac_lines_print": ("python", "".join(f"print('step {i}', {i})\n" for i in range(30))),
    "qsc_codepython_cate_var_zero": ("python", "".join(f"print('line {i} of the output')\n" for i in range(4)) + "import sys\nsys.exit()\n" * 5),
    "qsc_codec_nums_lines_main": ("c", C_BODY + "int main(void) {\n return 0;\n}\nint main(int a) {\n return a;\n}\n"),
    "qsc_codec_frac_lines_print": ("c", "void f(void) {\n" + '    printf("%d\\n", 1);\n' * 20 + "}\n"),
    "qsc_codecpp_frac_lines_print": ("cpp", "void f() {\n" + '    std::cout << "x" << std::endl;\n' * 20 + "}\n"),
    "qsc_codego_cate_testfile": ("go", "package x\n\nfunc TestA(t *testing.T) {\n\tv := 1\n\tif v != 1 {\n\t\tt.Fatal(v)\n\t}\n}\n" * 3),
    "qsc_codego_frac_lines_print": ("go", "package main\n\nfunc main() {\n" + '\tfmt.Println("hello, world", 1)\n' * 20 + "}\n"),
    "qsc_codejava_frac_lines_print": ("java", "class A {\n  void f() {\n" + '    System.out.println("hello");\n' * 20 + "  }\n}\n"),
    "qsc_codecsharp_frac_lines_print": ("csharp", "class A {\n  void F() {\n" + '    Console.WriteLine("hello");\n' * 20 + "  }\n}\n"),
    "qsc_codejavascript_frac_lines_print": ("javascript", "function f() {\n" + "  console.log('step', 1);\n" * 20 + "}\n"),
    "qsc_codejavascript_cate_ast": ("javascript", "function f( {\n" + "  var x = 1;\n" * 12),
    "qsc_codehtml_num_chars_text": ("html", "<html><body>\n" + "<div class='a'><span></span></div>\n" * 12 + "</body></html>\n"),
}

REAL = {"python": STDLIB / "json" / "scanner.py", "html": None}


def _doc(language: str, text: str, filename: str = "file") -> CodeDoc:
    doc_type = "code"
    ext = {"python": "py", "c": "c", "cpp": "cpp", "go": "go", "java": "java", "csharp": "cs",
           "javascript": "js", "html": "html"}[language]
    name = filename if "." in filename else f"{filename}.{ext}"
    if language == "go" and "Test" in text:
        name = "file_test.go"
    return CodeDoc(text, name, ext, len(text.encode()), language, doc_type)


def _value(rule: str, doc: CodeDoc) -> float | None:
    return RULES.get(rule)(doc)


@pytest.mark.parametrize("rule", sorted(FIRING))
def test_rule_fires_on_its_file(rule):
    language, text = FIRING[rule]
    doc = _doc(language, text)
    cut = CUTS[language][rule]
    assert fires(_value(rule, doc), cut), (rule, _value(rule, doc), cut)


@pytest.mark.parametrize("rule", sorted(FIRING))
def test_rule_does_not_fire_on_real_code(rule):
    language, _ = FIRING[rule]
    real = {"python": STDLIB / "json" / "decoder.py", "c": None, "cpp": None}.get(language)
    text = real.read_text() if real else {
        "c": C_BODY, "cpp": C_BODY, "go": "package x\n\nfunc Sum(a, b int) int {\n\ttotal := a + b\n\tif total > 3 {\n"
        "\t\ttotal -= 1\n\t}\n\treturn total\n}\n" * 4,
        "java": "class A {\n  int f(int a) {\n    int x = a * 2;\n    if (x > 3) {\n      x -= 2;\n    }\n    return x;\n  }\n"
        "  int g(int b) {\n    int y = b + 1;\n    while (y > 0) {\n      y--;\n    }\n    return y;\n  }\n}\n",
        "csharp": "class A {\n  int F(int a) {\n    int x = a * 2;\n    if (x > 3) {\n      x -= 2;\n    }\n    return x;\n  }\n"
        "  int G(int b) {\n    int y = b + 1;\n    while (y > 0) {\n      y--;\n    }\n    return y;\n  }\n}\n",
        "javascript": "var total = 0;\nfunction add(a, b) {\n  var s = a + b;\n  if (s > 3) {\n    s -= 1;\n  }\n"
        "  total += s;\n  return s * 2;\n}\n" * 3,
        "html": "<html><body>\n" + "<p>Some readable text about the page and what it shows to a reader.</p>\n" * 12
        + "</body></html>\n"}[language]
    doc = _doc(language, text)
    assert not fires(_value(rule, doc), CUTS[language][rule]), (rule, _value(rule, doc))


def test_every_default_rule_is_registered_and_named_as_opencoder_names_it():
    for rules in DEFAULT_RULES.values():
        for name in rules:
            assert name.startswith(("qsc_code", "qsc_doc_")), name
            RULES.get(name)
    assert profile_of("text", "", "en") == "text_en" and profile_of("text", "", "zh") == "text_zh"
    assert profile_of("data", "json", "en") == "data" and profile_of("code", "rust", "en") == "others"


def test_stochastic_rules_are_seeded_and_deterministic():
    cut = CUTS["python"]["qsc_codepython_score_lines_no_logic"]
    values = {"qsc_codepython_score_lines_no_logic": 0.9}
    cuts = {"qsc_codepython_score_lines_no_logic": cut}
    drops = [bool(fired(values, cuts, f"file{i}", 7)) for i in range(2000)]
    assert drops == [bool(fired(values, cuts, f"file{i}", 7)) for i in range(2000)]
    assert 0.76 < sum(drops) / len(drops) < 0.84  # OpenCoder: dropped with probability 0.8
    assert drops != [bool(fired(values, cuts, f"file{i}", 8)) for i in range(2000)]


def test_hand_written_stdlib_code_lands_mostly_in_hit0_to_hit2():
    files = sorted(p for p in (STDLIB / "email").glob("*.py")) + sorted((STDLIB / "json").glob("*.py"))
    counts = []
    for path in files:
        text = path.read_text()
        doc = CodeDoc(text, path.name, "py", len(text.encode()), "python", "code")
        counts.append(len(fired(signals(doc, CUTS["python"]), CUTS["python"], path.name, 1)))
    assert sum(c <= 2 for c in counts) >= 0.9 * len(counts), counts
