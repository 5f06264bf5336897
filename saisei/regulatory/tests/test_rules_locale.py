"""Every message the rule layer can show has Japanese wording with the same placeholders."""

import ast
import string
from pathlib import Path

import pytest

from saisei.core.catalogues import translations

MESSAGES_JA = translations("regulatory", "ja")


RULES = Path(__file__).resolve().parents[1] / "rules"


def msgids():
    found = []
    for path in sorted(RULES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"gettext", "gettext_noop"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append(node.args[0].value)
    return sorted(set(found))


def fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_rule_layer_has_messages():
    assert len(msgids()) > 40


@pytest.mark.parametrize("msgid", msgids())
def test_japanese_wording_exists_with_the_same_placeholders(msgid):
    assert msgid in MESSAGES_JA
    assert fields(MESSAGES_JA[msgid]) == fields(msgid)
