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


# ---- text files (qsc_doc_*) and the rules above lack: a file that fires each, a real one that does not
LICENSE = Path("/usr/share/common-licenses/GPL-3")  # Debian base-files: real English prose
PARA = ("Every program that is distributed with source code can be studied, changed and shared by the people "
        "who use it, and that is why the licence asks for the source to travel with it.\n")
SENTENCES = "".join(f"Line {i} tells the reader something new about topic {i * 7}. " + ("\n" if i % 2 else "")
                    for i in range(40))
TEXT_FIRING = {
    "qsc_doc_num_chars": "Short note.\n",
    "qsc_doc_num_words": "\n".join(["Short lines here."] * 12) + "\n",
    "qsc_doc_num_lines": PARA * 3,
    "qsc_doc_num_sentences": "\n".join(["one long sentence without any stop at all"] * 12) + "\n",
    "qsc_doc_mean_word_length": "\n".join([" ".join("a b c d e f g h")] * 12) + "\n",
    "qsc_doc_entropy_unigram": "\n".join(["data data data data data data"] * 12) + "\n",
    "qsc_doc_frac_chars_top_2grams": SENTENCES + "\n".join(["hello world"] * 60) + "\n",
    "qsc_doc_frac_chars_top_3grams": SENTENCES + "\n".join(["hello big world"] * 40) + "\n",
    "qsc_doc_frac_chars_top_4grams": SENTENCES + "\n".join(["hello big round world"] * 30) + "\n",
    **{f"qsc_doc_frac_chars_dupe_{n}grams": PARA * 12 for n in range(5, 11)},
    "qsc_doc_frac_chars_dupe_lines": PARA * 12,
    "qsc_doc_frac_lines_dupe_lines": PARA * 12,
    "qsc_doc_frac_lines_end_with_readmore": "".join(f"Story number {i} begins here and goes on...\n" for i in range(12)),
    "qsc_doc_frac_lines_start_with_bullet": "".join(f"\u2022 item number {i} of the list of things\n" for i in range(12)),
    "qsc_doc_frac_words_all_caps": "".join(f"WARNING THIS IS LOUD TEXT NUMBER {i} FOR ALL\n" for i in range(12)),
    "qsc_doc_frac_chars_hex_words": "".join(f"0x{i:08X} 0x{i * 77:08X} 0xDEADBEEF\n" for i in range(12)),
    "qsc_doc_frac_chars_hyperlink_html_tag": "".join(f"<div class='c{i}'><span>x</span></div>\n" for i in range(12)),
    "qsc_doc_frac_chars_alphabet": "".join(f"{i} + {i * 3} = {i * 4}; ({i}) [{i}] -> ok\n" for i in range(12)),
    "qsc_doc_frac_chars_digital": "".join(f"value {i * 1234567} and {i * 7654321} units\n" for i in range(12)),
    "qsc_doc_frac_chars_whitespace": "".join(f"word{i}" + " " * 40 + "end\n" for i in range(12)),
    "qsc_doc_frac_chars_replacement_symbols": PARA + "\ufffd" * 40 + "\n" + PARA * 10,
}


def _text_doc(text: str, lang: str = "en") -> CodeDoc:
    return CodeDoc(text, "notes.txt", "txt", len(text.encode()), "text", "text", lang)


@pytest.mark.parametrize("rule", sorted(TEXT_FIRING))
def test_text_rule_fires_on_its_file_and_not_on_real_prose(rule):
    cut = CUTS["text_en"][rule]
    fire, real = _text_doc(TEXT_FIRING[rule]), _text_doc(LICENSE.read_text())
    assert fires(_value(rule, fire), cut), (rule, _value(rule, fire), cut)
    assert not fires(_value(rule, real), cut), (rule, _value(rule, real), cut)


def test_full_width_brackets_fire_in_chinese_text_only(shared_data):
    import json

    with open(shared_data / "zh" / "web_text" / "chinesewebtext" / "cc_2021-43_cleared1.jsonl", encoding="utf-8") as f:
        real = json.loads(f.readline())["raw_content"]
    bracketed = "".join(f"【标题{i}】【内容】\n" for i in range(12))
    cut = CUTS["text_zh"]["qsc_doc_frac_words_full_bracket"]
    assert fires(_value("qsc_doc_frac_words_full_bracket", _text_doc(bracketed, "zh")), cut)
    assert not fires(_value("qsc_doc_frac_words_full_bracket", _text_doc(real, "zh")), cut)


JQUERY_MIN = Path("/usr/share/javascript/jquery/jquery.min.js")
CODE_FIRING = {  # general code rules, on Python files: (rule, file that fires it)
    "qsc_code_frac_chars_alphabet": "".join(f"x{i} = [{i}, {i + 1}, {i + 2}] * ({i} + {i})\n" for i in range(30)),
    "qsc_code_mean_word_length": "a = b + c - d * e / f % g\n" * 30,
    "qsc_code_num_chars_line_mean": "x=1\n" * 30,
    "qsc_code_frac_chars_whitespace": "".join(f"x{i}" + " " * 60 + "= 1\n" for i in range(30)),
    "qsc_code_frac_chars_top_3grams": PY_BODY + "".join("call(first, second, third)\n" for _ in range(60)),
    "qsc_code_frac_chars_top_4grams": PY_BODY + "".join("call(first, second, third, fourth)\n" for _ in range(40)),
    **{f"qsc_code_frac_chars_dupe_{n}grams": PY_BODY.replace("f0", "g") * 1 + PY_BODY * 8 for n in range(5, 11)},
    "qsc_code_frac_chars_long_word_length": "".join(f"k{i} = 'averyveryveryverylongidentifierlikeword{i}xyz'\n" for i in range(30)),
    "qsc_code_frac_lines_long_string": "".join(f"s{i} = '{' '.join(['w'] * 25)}'\n" for i in range(30)),
    "qsc_code_size_file_byte": None,  # fired by size: see test_size_rule
}


@pytest.mark.parametrize("rule", sorted(r for r, t in CODE_FIRING.items() if t))
def test_code_rule_fires_on_its_file_and_not_on_real_code(rule):
    cut = CUTS["python"][rule]
    fire, real = _doc("python", CODE_FIRING[rule]), _doc("python", (STDLIB / "json" / "decoder.py").read_text())
    assert fires(_value(rule, fire), cut), (rule, _value(rule, fire), cut)
    assert not fires(_value(rule, real), cut), (rule, _value(rule, real), cut)


def test_size_and_unique_words_rules():
    text = (STDLIB / "json" / "decoder.py").read_text()
    big = CodeDoc(text, "decoder.py", "py", 3_000_001, "python", "code")
    assert fires(_value("qsc_code_size_file_byte", big), CUTS["python"]["qsc_code_size_file_byte"])
    assert not fires(_value("qsc_code_size_file_byte", _doc("python", text)), CUTS["python"]["qsc_code_size_file_byte"])
    rows = "[\n" + "".join('  {"name": "alpha", "value": "beta"},\n' for _ in range(40)) + "]\n"
    real = (STDLIB / "test" / "test_zoneinfo" / "data" / "zoneinfo_data.json").read_text()  # real, varied
    cut = CUTS["data"]["qsc_code_frac_words_unique"]
    data = CodeDoc(rows, "rows.json", "json", len(rows), "json", "data")
    assert fires(_value("qsc_code_frac_words_unique", data), cut)
    assert not fires(_value("qsc_code_frac_words_unique", CodeDoc(real, "t.json", "json", len(real), "json", "data")), cut)


LANGUAGE_FIRING = {  # (profile, rule, file that fires it); real files that do not: C_BODY/PY_BODY-like code
    ("python", "qsc_codepython_frac_lines_func_ratio"): "".join(f"def f{i}(a):\n    return a\n" for i in range(10)),
    ("python", "qsc_codepython_frac_lines_simplefunc"): "".join(f"def f{i}(a):\n    return a\n" for i in range(10)),
    ("python", "qsc_codepython_score_lines_no_logic"): "import os\n" + "".join(f"def f{i}(a):\n    return a\n" for i in range(10)),
    ("c", "qsc_codec_frac_lines_func_ratio"): "".join(f"int f{i}(int a) {{ return a; }}\n" for i in range(10)),
    ("c", "qsc_codec_score_lines_no_logic"): "#include <stdio.h>\n" + "".join(f"int f{i}(int a) {{\n return a;\n}}\n" for i in range(10)),
    ("c", "qsc_codec_frac_lines_preprocessor_directives"): "".join(f"#define X{i} {i}\n" for i in range(20)) + "int x;\n",
    ("cpp", "qsc_codecpp_frac_lines_func_ratio"): "".join(f"int f{i}(int a) {{ return a; }}\n" for i in range(10)),
    ("cpp", "qsc_codecpp_score_lines_no_logic"): "#include <cstdio>\n" + "".join(f"int f{i}(int a) {{\n return a;\n}}\n" for i in range(10)),
    ("cpp", "qsc_codecpp_frac_lines_preprocessor_directives"): "".join(f"#define X{i} {i}\n" for i in range(20)) + "int x;\n",
    ("cpp", "qsc_codecpp_nums_lines_main"): C_BODY + "int main() {\n return 0;\n}\nint main(int a) {\n return a;\n}\n",
    ("java", "qsc_codejava_cate_var_zero"): "class A {\n" + "".join(f"  void f{i}() {{\n    run();\n  }}\n" for i in range(4)) + "}\n",
    ("java", "qsc_codejava_frac_lines_func_ratio"): "class A {\n" + "".join(f"  void f{i}() {{ run(); }}\n" for i in range(10)) + "}\n",
    ("java", "qsc_codejava_score_lines_no_logic"): "import a.B;\nclass A {\n" + "".join(f"  int f{i}() {{\n    return x;\n  }}\n" for i in range(10)) + "}\n",
    ("csharp", "qsc_codecsharp_frac_lines_func_ratio"): "class A {\n" + "".join(f"  public void F{i}() {{ Run(); }}\n" for i in range(10)) + "}\n",
    ("csharp", "qsc_codecsharp_score_lines_no_logic"): "using System;\nclass A {\n" + "".join(f"  public int F{i}() {{\n    return x;\n  }}\n" for i in range(10)) + "}\n",
    ("go", "qsc_codego_frac_lines_func_ratio"): "package a\n" + "".join(f"func F{i}() int {{ return {i} }}\n" for i in range(10)),
    ("go", "qsc_codego_score_lines_no_logic"): "package a\nimport \"fmt\"\n" + "".join(f"func F{i}() int {{\n\treturn x\n}}\n" for i in range(10)),
    ("javascript", "qsc_codejavascript_cate_var_zero"): "function f() {\n  run(1);\n  run(2);\n}\nf();\n" * 3,
    ("javascript", "qsc_codejavascript_frac_lines_func_ratio"): "".join(f"function f{i}(a) {{ return a; }}\n" for i in range(10)),
    ("javascript", "qsc_codejavascript_score_lines_no_logic"): "".join(f"function f{i}(a) {{\n  return a;\n}}\n" for i in range(10)),
    ("html", "qsc_codehtml_frac_words_text"): "<html><body>\n" + "<div class='box'><span class='x'>a</span></div>\n" * 12 + "</body></html>\n",
    ("html", "qsc_codehtml_cate_ast"): None,  # html.parser reads any text: see test_html_parse_failure
}
NOT_FIRING = {
    "python": (STDLIB / "json" / "decoder.py").read_text() if (STDLIB / "json" / "decoder.py").exists() else "",
    "c": C_BODY, "cpp": C_BODY,
    "java": "import java.util.List;\nclass A {\n  int f(int a) {\n    int x = a * 2;\n    if (x > 3) {\n      x -= 2;\n"
            "    }\n    while (x > 0) {\n      x--;\n      a += x;\n    }\n    return x + a;\n  }\n}\n",
    "csharp": "using System;\nclass A {\n  int F(int a) {\n    int x = a * 2;\n    if (x > 3) {\n      x -= 2;\n"
              "    }\n    while (x > 0) {\n      x--;\n      a += x;\n    }\n    return x + a;\n  }\n}\n",
    "go": "package x\n\nfunc Sum(a, b int) int {\n\ttotal := a + b\n\tif total > 3 {\n\t\ttotal -= 1\n\t}\n"
          "\tfor total > 0 {\n\t\ttotal--\n\t\ta += total\n\t}\n\treturn total + a\n}\n",
    "javascript": "var total = 0;\nfunction add(a, b) {\n  var s = a + b;\n  if (s > 3) {\n    s -= 1;\n  }\n"
                  "  while (s > 0) {\n    s--;\n    total += s;\n  }\n  return s * 2;\n}\n",
    "html": "<html><body>\n" + "<p>Some readable text about the page and what it shows to a reader.</p>\n" * 12 + "</body></html>\n",
}


@pytest.mark.parametrize("key", sorted(k for k, t in LANGUAGE_FIRING.items() if t))
def test_language_rule_fires_on_its_file_and_not_on_ordinary_code(key):
    language, rule = key
    cut = CUTS[language][rule]
    fire, ordinary = _doc(language, LANGUAGE_FIRING[key]), _doc(language, NOT_FIRING[language])
    assert fires(_value(rule, fire), cut), (rule, _value(rule, fire), cut)
    assert not fires(_value(rule, ordinary), cut), (rule, _value(rule, ordinary), cut)
