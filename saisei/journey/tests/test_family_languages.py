"""Every page a family sees reads in Simplified Chinese and Japanese, with no English msgid left.

The family-facing set is ``saisei.core.catalogues.FAMILY_FACING``; scripts/i18n.py --check
proves each of its msgids has a translation, and this test proves the pages actually use them.
"""

from __future__ import annotations

import re
from typing import Any

import polib
import pytest
from django.conf import settings
from django.test import Client

from saisei.core.catalogues import APPS, po_path
from saisei.core.tests.test_i18n import _visible_text
from saisei.journey import services
from saisei.journey.tests.test_services import make_quote

pytestmark = pytest.mark.django_db

# Sentences and labels of two words or more: single words (names, codes) may legitimately match.
PHRASE = re.compile(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}")
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def english_msgids() -> set[str]:
    out: set[str] = set()
    for app in APPS:
        path = po_path(app, "ja")
        if path.exists():
            out |= {
                e.msgid
                for e in polib.pofile(str(path))
                if PHRASE.search(e.msgid) and "%" not in e.msgid and "{" not in e.msgid
            }
    return out


def leaked(html: str, english: set[str]) -> list[str]:
    text = _visible_text(html)
    assert CJK.search(text)
    return sorted(m for m in english if m in text)


@pytest.mark.parametrize("lang", ["zh-hans", "ja"])
def test_family_pages_show_no_untranslated_english(
    lang: str, org: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    english = english_msgids()
    public = Client()
    public.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    pages = [f"/journey/inquiry/{org.slug}/?lang={lang}"]
    problems: dict[str, list[str]] = {}
    for path in pages:
        res = public.get(path)
        assert res.status_code == 200, path
        problems[path] = leaked(res.content.decode(), english)

    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    patient.language = lang
    patient.save(update_fields=["language"])
    _access, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    family = Client()
    family.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    entry = family.get(f"/journey/portal/enter/{token}/?lang={lang}")
    problems["portal entry"] = leaked(entry.content.decode(), english)
    assert family.post(f"/journey/portal/enter/{token}/").status_code == 302
    for path in (
        "/journey/portal/",
        f"/journey/portal/quotes/{quote.external_id}/",
        "/journey/portal/itinerary/",
        "/journey/portal/report/",
        "/safety/portal/report/",
    ):
        res = family.get(path, follow=True)
        assert res.status_code == 200, path
        problems[path] = leaked(res.content.decode(), english)
    bad = {k: v for k, v in problems.items() if v}
    assert bad == {}, repr(bad)
