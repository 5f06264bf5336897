"""The REDCap research export: the dictionary obeys REDCap's rules, the records fit it, scoping."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saisei.core.services import token_create
from saisei.interop import redcap
from saisei.journey.tests.factories import PatientFactory
from saisei.outcomes.models import Assessment, BiomarkerDefinition, BiomarkerResult
from saisei.safety.tests.factories import AdverseEventFactory

API = "/api/v1/interop/redcap"
# REDCap's field types and the text validations this export uses.
FIELD_TYPES = {
    "text",
    "notes",
    "dropdown",
    "radio",
    "checkbox",
    "yesno",
    "truefalse",
    "calc",
    "file",
    "slider",
    "descriptive",
    "sql",
}
VALIDATIONS = {"", "date_ymd", "number", "integer"}
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _choices(cell: str) -> dict[str, str]:
    """REDCap's choice syntax: 'code, label | code, label' (the label may hold commas)."""
    pairs = {}
    for part in cell.split("|"):
        code, sep, label = part.strip().partition(",")
        assert sep, f"choice without a comma: {part!r}"
        assert re.fullmatch(r"-?[0-9]+", code.strip()), f"choice code {code!r} is not a number"
        assert code.strip() not in pairs, f"choice code {code!r} twice"
        pairs[code.strip()] = label.strip()
    return pairs


def _dictionary_text() -> str:
    return "".join(redcap.csv_lines(redcap.dictionary_rows()))


def _records(actor: Any) -> list[dict[str, str]]:
    return _parse("".join(redcap.csv_lines(redcap.record_rows(actor))))


def test_the_dictionary_follows_redcaps_rules(db: Any) -> None:
    text = _dictionary_text()
    header = next(csv.reader(io.StringIO(text)))
    assert header == list(redcap.DICTIONARY_COLUMNS)
    assert len(header) == 18
    rows = _parse(text)
    assert rows[0]["Variable / Field Name"] == "record_id"
    assert rows[0]["Form Name"] == "demographics"
    names = [r["Variable / Field Name"] for r in rows]
    assert len(names) == len(set(names))
    forms_seen: list[str] = []
    for row in rows:
        name, form = row["Variable / Field Name"], row["Form Name"]
        assert NAME.match(name), name
        assert len(name) <= 26, f"{name} is longer than REDCap's recommended 26 characters"
        assert NAME.match(form), form
        # A form's fields are together (REDCap refuses a form split in two).
        if not forms_seen or forms_seen[-1] != form:
            assert form not in forms_seen, f"form {form} split"
            forms_seen.append(form)
        assert row["Field Type"] in FIELD_TYPES
        assert row["Field Label"].strip()
        assert row["Text Validation Type OR Show Slider Number"] in VALIDATIONS
        if row["Text Validation Type OR Show Slider Number"]:
            assert row["Field Type"] == "text"
        assert row["Identifier?"] in {"", "y"}
        assert row["Required Field?"] in {"", "y"}
        if row["Field Type"] in {"radio", "dropdown", "checkbox"}:
            assert _choices(row["Choices, Calculations, OR Slider Labels"])
        else:
            assert row["Choices, Calculations, OR Slider Labels"] == ""
    assert forms_seen == [
        "demographics",
        "infusions",
        "assessments",
        "biomarkers",
        "adverse_events",
    ]
    by_name = {r["Variable / Field Name"]: r for r in rows}
    assert by_name["record_id"]["Identifier?"] == "y"
    assert by_name["ae_onset"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert _choices(by_name["ae_grade"]["Choices, Calculations, OR Slider Labels"]).keys() == {
        "1",
        "2",
        "3",
        "4",
        "5",
    }
    # Pseudonymised: no name, birth date, e-mail or address variable.
    assert not [n for n in names if re.search(r"name|birth_date|email|address|phone", n)]


@pytest.fixture
def admin(org: Any, make_user: Any) -> Any:
    return make_user("org_admin", org)


def _patient_with_data(org: Any, physician: Any, *, assessments: int = 2) -> Any:
    patient = PatientFactory(organisation=org)
    for i in range(assessments):
        Assessment.objects.create(
            organisation=org,
            patient=patient,
            instrument="MMSE",
            assessed_on=dt.date(2026, 1, 10) + dt.timedelta(days=30 * i),
            total=24.5 + i,
            rater=physician,
        )
    definition, _ = BiomarkerDefinition.objects.get_or_create(
        organisation=org,
        code="NFL",
        defaults={"name": "Neurofilament light", "unit": "pg/mL", "loinc": "00000-0"},
    )
    BiomarkerResult.objects.create(
        organisation=org,
        patient=patient,
        definition=definition,
        value=12.5,
        unit="pg/mL",
        collected_on=dt.date(2026, 2, 1),
        entered_by=physician,
    )
    AdverseEventFactory(
        actor=physician,
        patient=patient,
        severity_grade=2,
        onset_date=dt.date(2026, 2, 3),
        related_cells="possible",
    )
    return patient


def _check_against_dictionary(records: list[dict[str, str]]) -> None:
    dictionary = {r["Variable / Field Name"]: r for r in _parse(_dictionary_text())}
    for row in records:
        for column, value in row.items():
            if column in redcap.REPEAT_COLUMNS:
                continue
            assert column in dictionary, f"column {column} is not in the dictionary"
            if value == "":
                continue
            spec = dictionary[column]
            kind = spec["Field Type"]
            validation = spec["Text Validation Type OR Show Slider Number"]
            if kind in {"radio", "dropdown"}:
                assert value in _choices(spec["Choices, Calculations, OR Slider Labels"]), (
                    column,
                    value,
                )
            elif kind == "yesno":
                assert value in {"0", "1"}
            elif validation == "date_ymd":
                dt.date.fromisoformat(value)
            elif validation == "integer":
                int(value)
            elif validation == "number":
                float(value)
            # A repeating instrument's row holds only its own variables.
            form = spec["Form Name"]
            if row["redcap_repeat_instrument"]:
                assert column == "record_id" or form == row["redcap_repeat_instrument"]
            else:
                assert form == "demographics"


def test_records_fit_the_dictionary_and_count_instances(
    org: Any, other_org: Any, admin: Any, make_user: Any
) -> None:
    physician = make_user("physician", org)
    first = _patient_with_data(org, physician, assessments=3)
    second = _patient_with_data(org, physician, assessments=1)
    stranger = _patient_with_data(other_org, make_user("physician", other_org))

    records = _records(admin)
    assert list(records[0])[:3] == ["record_id", *redcap.REPEAT_COLUMNS]
    _check_against_dictionary(records)
    codes = {r["record_id"] for r in records}
    assert codes == {first.patient_code, second.patient_code}
    assert stranger.organisation_id != org.pk
    text = "".join(redcap.csv_lines(redcap.record_rows(admin)))
    assert first.family_name not in text and first.given_name not in text
    # Instances are numbered 1..n per record and instrument, in date order.
    mine = [
        r
        for r in records
        if r["record_id"] == first.patient_code and r["redcap_repeat_instrument"] == "assessments"
    ]
    assert [r["redcap_repeat_instance"] for r in mine] == ["1", "2", "3"]
    assert [r["asmt_date"] for r in mine] == sorted(r["asmt_date"] for r in mine)
    assert mine[0]["asmt_total"] == "24.5"
    demographics = [r for r in records if not r["redcap_repeat_instrument"]]
    assert len(demographics) == 2
    assert all(r["redcap_repeat_instance"] == "" for r in demographics)
    events = [r for r in records if r["redcap_repeat_instrument"] == "adverse_events"]
    assert len(events) == 2 and all(e["ae_serious"] == "0" for e in events)
    assert all(e["ae_grade"] == "2" for e in events)


def test_other_organisations_records_never_appear(
    org: Any, other_org: Any, admin: Any, make_user: Any
) -> None:
    stranger = _patient_with_data(other_org, make_user("physician", other_org))
    stranger.patient_code = "ZZ-OTHER-1"
    stranger.save(update_fields=["patient_code"])
    mine = PatientFactory(organisation=org)
    records = _records(admin)
    assert {r["record_id"] for r in records} == {mine.patient_code}
    assert not [r for r in records if r["redcap_repeat_instrument"]]


def test_the_query_count_does_not_grow_with_the_rows(org: Any, admin: Any, make_user: Any) -> None:
    physician = make_user("physician", org)
    _patient_with_data(org, physician, assessments=1)
    _records(admin)  # the actor's roles are read once, then cached on the user
    with CaptureQueriesContext(connection) as small:
        _records(admin)
    for _ in range(3):
        _patient_with_data(org, physician, assessments=4)
    with CaptureQueriesContext(connection) as large:
        rows = _records(admin)
    assert len(rows) > 20
    assert len(large) == len(small) == 5  # one per instrument


def test_only_the_administrator_downloads_through_the_api_and_the_page(
    org: Any, admin: Any, make_user: Any
) -> None:
    PatientFactory(organisation=org, patient_code="P-REDCAP")
    for role, status in (("org_admin", 200), ("physician", 403), ("coordinator", 403)):
        user = admin if role == "org_admin" else make_user(role, org)
        _, token = token_create(actor=None, user=user, label="redcap")
        client = Client(headers={"Authorization": f"Bearer {token}"})
        for part in ("dictionary", "records"):
            response = client.get(f"{API}/{part}.csv")
            assert response.status_code == status, (role, part)
            if status == 200:
                body = b"".join(response.streaming_content).decode()
                assert response["Content-Type"].startswith("text/csv")
                assert not body.startswith("\ufeff")
                if part == "records":
                    assert "P-REDCAP" in body


def test_the_exports_page_offers_the_redcap_files(
    org: Any, admin: Any, make_user: Any, web_for: Any
) -> None:
    PatientFactory(organisation=org, patient_code="P-PAGE")
    client = web_for(admin)
    page = client.get("/interop/exports/")
    assert page.status_code == 200
    assert "/interop/exports/redcap/records.csv" in page.content.decode()
    response = client.get("/interop/exports/redcap/records.csv")
    assert response.status_code == 200
    assert "P-PAGE" in b"".join(response.streaming_content).decode()
    refused = web_for(make_user("nurse", org)).get("/interop/exports/redcap/dictionary.csv")
    assert refused.status_code == 403
