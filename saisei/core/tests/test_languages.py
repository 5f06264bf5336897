"""Languages are offered by which catalogues exist (issue 15, item 5), and links in e-mails use
the address the server runs on (``saisei demo --port``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from saisei.core import catalogues
from saisei.core.management.commands.serve import serve_at


def test_adding_a_catalogue_makes_the_language_offered(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(catalogues, "PACKAGE", tmp_path)
    assert catalogues.offered_languages() == ["en", "ja", "zh-hans"]
    for lang in ("ko", "zh_Hant"):
        mo = tmp_path / "journey" / "locale" / lang / "LC_MESSAGES" / "django.mo"
        mo.parent.mkdir(parents=True)
        mo.write_bytes(b"")
    assert catalogues.offered_languages() == ["en", "ja", "zh-hans", "ko", "zh-hant"]
    assert "ko" in catalogues.catalogue_languages(tmp_path)
    # A documented setting fixes the list instead.
    assert catalogues.offered_languages(["en", "ja"]) == ["en", "ja"]


def test_locale_names_and_codes_round_trip() -> None:
    for code in ("ja", "ko", "zh-hans", "zh-hant"):
        assert catalogues.language_code(catalogues.locale_name(code)) == code
    assert catalogues.locale_name("zh-hant") == "zh_Hant"


@pytest.mark.django_db
def test_an_offered_language_is_selectable_on_the_public_form(org: Any, settings: Any) -> None:
    settings.LANGUAGES = [*settings.LANGUAGES, ("ko", "Korean")]
    page = Client().get(f"/journey/inquiry/{org.slug}/?lang=ko").content.decode()
    assert 'hreflang="ko"' in page and "한국어" in page
    assert '<html lang="ko">' in page


def test_serve_at_sets_the_base_url_from_the_port(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("SAISEI_BASE_URL", raising=False)
    serve_at("127.0.0.1:8123")
    assert settings.SAISEI_BASE_URL == "http://127.0.0.1:8123"
    monkeypatch.delenv("SAISEI_BASE_URL")
    serve_at("0.0.0.0:9000")
    assert settings.SAISEI_BASE_URL == "http://127.0.0.1:9000"


def test_an_explicit_base_url_wins(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SAISEI_BASE_URL", "https://clinic.example")
    settings.SAISEI_BASE_URL = "https://clinic.example"
    serve_at("127.0.0.1:8123")
    assert settings.SAISEI_BASE_URL == "https://clinic.example"
