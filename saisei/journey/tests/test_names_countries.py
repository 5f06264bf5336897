"""Names and countries (issue 15, item 4): the family gives family and given name separately,
with the native script and its reading; nothing splits a name by word order; the currency
defaults from the country through a data table, and an unknown country gets no guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from saisei.core.roles import Role
from saisei.journey.countries import COUNTRIES, currency_for_country
from saisei.journey.models import Inquiry
from saisei.journey.tests.test_services import INQUIRY, old_token

pytestmark = pytest.mark.django_db

JOURNEY = Path(__file__).resolve().parents[1]


def _post(org: Any, **extra: Any) -> Any:
    data = {**INQUIRY, "privacy_consent": "on", "form_token": old_token(), "website": ""}
    data.update(extra)
    return Client().post(f"/journey/inquiry/{org.slug}/?lang=ja", data, REMOTE_ADDR="203.0.113.8")


def test_the_inquiry_keeps_each_name_part_as_typed(org: Any) -> None:
    resp = _post(
        org,
        patient_family_name="山田",
        patient_given_name="花子",
        patient_name_native="山田 花子",
        patient_name_reading="やまだ はなこ",
    )
    assert resp.status_code == 302
    inquiry = Inquiry.objects.get()
    assert (inquiry.patient_family_name, inquiry.patient_given_name) == ("山田", "花子")
    assert inquiry.patient_name_native == "山田 花子"
    assert inquiry.patient_name_reading == "やまだ はなこ"
    assert inquiry.patient_name == "山田, 花子"


def test_the_form_asks_for_family_and_given_name_separately(org: Any) -> None:
    page = Client().get(f"/journey/inquiry/{org.slug}/?lang=ja").content.decode()
    for field in ("patient_family_name", "patient_given_name", "patient_name_reading"):
        assert f'name="{field}"' in page
    assert 'name="patient_name"' not in page
    resp = _post(org, patient_family_name="", patient_given_name="Mei")
    assert resp.status_code == 400 and not Inquiry.objects.exists()


def test_the_patient_form_takes_the_parts_and_the_currency_from_the_inquiry(
    org: Any, make_user: Any, web_for: Any
) -> None:
    assert (
        _post(
            org,
            patient_family_name="Lin",
            patient_given_name="Mei Ling",
            patient_name_reading="Lín Měilíng",
            country="中国",
        ).status_code
        == 302
    )
    inquiry = Inquiry.objects.get()
    client = web_for(make_user(Role.COORDINATOR, org))
    form = client.get(f"/journey/patients/new/?inquiry={inquiry.external_id}").context["form"]
    assert form.initial["family_name"] == "Lin"
    assert form.initial["given_name"] == "Mei Ling"  # two words, still one given name
    assert form.initial["name_reading"] == "Lín Měilíng"
    assert form.initial["currency"] == "CNY"


def test_an_old_inquiry_with_one_name_is_not_split(org: Any, make_user: Any, web_for: Any) -> None:
    assert _post(org).status_code == 302
    inquiry = Inquiry.objects.get()
    Inquiry.objects.filter(pk=inquiry.pk).update(
        patient_name="Boris Kowalski", patient_family_name="", patient_given_name=""
    )
    client = web_for(make_user(Role.COORDINATOR, org))
    resp = client.get(f"/journey/patients/new/?inquiry={inquiry.external_id}")
    assert resp.context["form"].initial["family_name"] == ""
    assert resp.context["form"].initial["given_name"] == ""
    assert "Boris Kowalski" in resp.content.decode()


@pytest.mark.parametrize(
    ("country", "currency"),
    [
        ("Japan", "JPY"),
        ("日本", "JPY"),
        ("中国", "CNY"),
        ("South Korea", "KRW"),
        ("台灣", "TWD"),
        ("United States", "USD"),
        ("sg", "SGD"),
        ("Atlantis", ""),
        ("", ""),
    ],
)
def test_currency_defaults_from_the_country_table(country: str, currency: str) -> None:
    assert currency_for_country(country) == currency


def test_every_country_row_has_an_iso_code_and_currency() -> None:
    for c in COUNTRIES:
        assert len(c.code) == 2 and c.code.isupper()
        assert len(c.currency) == 3 and c.currency.isupper()


def test_no_code_splits_a_name_by_word_order() -> None:
    offenders = []
    for path in JOURNEY.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "_split_name" in text or "name.split(" in text or "patient_name.split" in text:
            offenders.append(str(path))
    assert offenders == []
