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


# --- issue 15: the e-mails and PDFs too, and msgids with placeholders ------------------------

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdf]|%[sd]|\{[^}]*\}")


def english_fragments() -> set[str]:
    """The literal stretches of every msgid with placeholders (``Quote %(n)s issued`` gives
    ``Quote`` and ``issued``), kept when long enough to be a phrase nobody types as data."""
    out: set[str] = set()
    for app in APPS:
        path = po_path(app, "ja")
        if path.exists():
            for e in polib.pofile(str(path)):
                for raw in PLACEHOLDER.split(e.msgid):
                    part = raw.strip(" .,:;()“”\"'")
                    if len(part) >= 16 and PHRASE.search(part) and "\n" not in part:
                        out.add(part)
    return out


def pdf_text(data: bytes, tmp_path: Any) -> str:
    import subprocess

    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


@pytest.mark.parametrize("lang", ["zh-hans", "ja"])
def test_confirmation_email_and_quote_pdf_are_in_the_family_language(
    lang: str,
    org: Any,
    coordinator: Any,
    patient: Any,
    plan: Any,
    price_list: Any,
    mailoutbox: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from saisei.journey.tests.test_services import INQUIRY, old_token

    english = english_msgids() | english_fragments()
    public = Client()
    data = {**INQUIRY, "privacy_consent": "on", "form_token": old_token(), "website": ""}
    with django_capture_on_commit_callbacks(execute=True):
        sent = public.post(f"/journey/inquiry/{org.slug}/?lang={lang}", {**data, "lang": lang})
    assert sent.status_code == 302
    thanks = public.get(sent["Location"])
    problems = {"thanks": leaked(thanks.content.decode(), english)}
    assert mailoutbox, "no confirmation e-mail"
    mail = mailoutbox[-1]
    body = f"{mail.subject}\n{mail.body}"
    problems["confirmation e-mail"] = sorted(m for m in english if m in body)
    assert CJK.search(body)

    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    patient.language = lang
    patient.save(update_fields=["language"])
    _access, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    family = Client()
    assert family.post(f"/journey/portal/enter/{token}/").status_code == 302
    res = family.get(f"/journey/portal/quotes/{quote.external_id}/pdf/?lang={lang}")
    assert res.status_code == 200
    text = " ".join(
        pdf_text(
            b"".join(res.streaming_content) if res.streaming else res.content, tmp_path
        ).split()
    )
    assert CJK.search(text)
    problems["quote PDF"] = sorted(m for m in english if m in text)
    bad = {k: v for k, v in problems.items() if v}
    assert bad == {}, repr(bad)


def test_the_leak_detector_finds_an_untranslated_placeholder_msgid() -> None:
    english = english_fragments()
    assert any("before the infusion" in m or "the clinic is closed" in m for m in english)
