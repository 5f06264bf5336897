"""Every translatable message of the outcomes app (code and templates) has Japanese with the same placeholders."""

import ast
import re
from pathlib import Path

from saisei.core.catalogues import translations

JA = translations("outcomes", "ja")


APP = Path(__file__).resolve().parent.parent
TEMPLATES = APP.parent / "templates" / "outcomes"
MODULES = [
    "instruments", "reference", "trajectory", "cohort", "plots",
    "models", "services", "selectors", "analysis", "forms", "views", "reports",
    "nav", "worklists", "api", "periodic_report", "fit_labels",
]  # fmt: skip
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")
TRANSLATE_TAG = re.compile(r"""{%\s*translate\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
BLOCK_TAG = re.compile(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*endblocktranslate\s*%}", re.S)
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_now", "gettext_noop"}


def msgids():
    for name in MODULES:
        tree = ast.parse((APP / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                yield node.args[0].value
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for m in TRANSLATE_TAG.finditer(text):
            yield m.group(1) or m.group(2)
        for m in BLOCK_TAG.finditer(text):
            yield re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", m.group(1))


def test_every_message_has_a_japanese_translation():
    missing = sorted({m for m in msgids() if m not in JA})
    assert missing == []


def test_placeholders_survive_translation():
    braces = re.compile(r"{\w+}")
    for english, japanese in JA.items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(japanese)), (
            english
        )
        assert sorted(braces.findall(english)) == sorted(braces.findall(japanese)), english
