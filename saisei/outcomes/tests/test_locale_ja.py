"""Every translatable message in the outcomes pure layer has Japanese with the same placeholders."""

import ast
import re
from pathlib import Path

from saisei.outcomes.locale_ja import JA

MODULES = ["instruments", "reference", "trajectory", "cohort", "plots", "vocabulary"]
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def msgids():
    root = Path(__file__).resolve().parent.parent
    for name in MODULES:
        tree = ast.parse((root / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"_", "gettext", "gettext_lazy"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                yield node.args[0].value


def test_every_message_has_a_japanese_translation():
    missing = sorted({m for m in msgids() if m not in JA})
    assert missing == []


def test_placeholders_survive_translation():
    for english, japanese in JA.items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(japanese)), (
            english
        )


def test_no_stale_translations():
    assert set(JA) <= set(msgids())
