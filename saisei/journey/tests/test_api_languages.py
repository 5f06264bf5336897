"""API language fields accept exactly the offered languages (the catalogues), others answer 422."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.api_support import offered_language_codes

PATIENT = {
    "family_name": "Wang",
    "given_name": "Wei",
    "date_of_birth": "1950-04-01",
    "sex": "male",
}


@pytest.mark.parametrize("language", ["en", "ja", "zh-hans"])
def test_every_offered_language_is_accepted(api_for: Any, coordinator: Any, language: str) -> None:
    res = api_for(coordinator).post("/journey/patients", {**PATIENT, "language": language})
    assert res.status_code == 201, res.json()
    assert res.json()["language"] == language


@pytest.mark.parametrize("language", ["ko", "zh", "EN", "fr", ""])
def test_a_language_without_a_catalogue_is_422_naming_the_choices(
    api_for: Any, coordinator: Any, language: str
) -> None:
    res = api_for(coordinator).post("/journey/patients", {**PATIENT, "language": language})
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "invalid_input"
    assert "zh-hans" in " ".join(error["fields"]["language"])


def test_a_language_a_translator_adds_is_accepted_without_code_changes(
    api_for: Any, coordinator: Any, settings: Any
) -> None:
    settings.LANGUAGES = [*settings.LANGUAGES, ("ko", "Korean")]
    res = api_for(coordinator).post("/journey/patients", {**PATIENT, "language": "ko"})
    assert res.status_code == 201, res.json()


def test_the_schema_lists_the_offered_languages(api_for: Any, coordinator: Any) -> None:
    schema = api_for(coordinator).get("/openapi.json").json()
    enum = schema["components"]["schemas"]["PatientIn"]["properties"]["language"]["enum"]
    assert enum == offered_language_codes()


def test_the_quote_pdf_refuses_an_unknown_language(
    api_for: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    from saisei.journey.tests.test_services import make_quote

    quote = make_quote(coordinator, patient, plan, price_list)
    client = api_for(coordinator)
    assert client.get(f"/journey/quotes/{quote.external_id}/pdf", language="xx").status_code == 422
    ok = client.get(f"/journey/quotes/{quote.external_id}/pdf", language="zh-hans")
    assert ok.status_code == 200
