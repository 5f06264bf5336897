"""The Japanese UI shows no untranslated strings on the shell pages, and the catalogue is complete."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

from saisei.core.audit import audit_record
from saisei.core.catalogues import APPS, po_path

PO_FILES = [po_path(app, "ja") for app in APPS if po_path(app, "ja").exists()]


def catalogue() -> list[polib.POEntry]:
    return [e for path in PO_FILES for e in polib.pofile(str(path))]


def test_every_app_with_strings_has_a_catalogue():
    assert {p.parts[-5] for p in PO_FILES} >= set(APPS) - {"interop"}
    assert not (Path(settings.BASE_DIR) / "locale").exists()


def test_every_japanese_msgid_is_translated():
    missing = [
        e.msgid for e in catalogue() if not e.obsolete and not (e.msgstr or e.msgstr_plural.get(0))
    ]
    assert missing == [], f"{len(missing)} untranslated, e.g. {missing[:10]}"


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parts[-5])
def test_compiled_catalogue_matches_the_po_file(path):
    po = polib.pofile(str(path))
    mo = polib.mofile(str(path.with_suffix(".mo")))
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in mo}
    stale = [e.msgid for e in po if e.msgstr and compiled.get((e.msgctxt, e.msgid)) != e.msgstr]
    assert stale == [], f"run scripts/i18n.py --compile: {stale[:5]}"


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


@pytest.mark.parametrize("role", ["coordinator", "compliance_officer", "nurse", "org_admin"])
def test_shell_pages_in_japanese_show_no_english_msgids(org, make_user, web_for, role):
    user = make_user(role, org, display_name="山田 太郎")
    audit_record(actor=user, organisation=org, action="thing.create", subject=("thing", "1"))
    client: Client = web_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    english = {e.msgid for e in catalogue() if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", e.msgid)}
    pages = ["/", "/notifications/", "/accounts/2fa/setup/"]
    if role in ("compliance_officer", "org_admin"):
        pages.append("/audit/")
    for path in pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        text = _visible_text(resp.content.decode())
        leaked = sorted(m for m in english if m in text)
        assert leaked == [], f"{path}: {leaked[:5]}"
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), path


def test_login_page_in_japanese(db):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    text = _visible_text(client.get("/accounts/login/").content.decode())
    assert "ログイン" in text and "Sign in" not in text
