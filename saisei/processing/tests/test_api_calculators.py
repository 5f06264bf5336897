"""The scan parser and expansion forecast endpoints: answers, and the error shape for bad input."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org: Any, make_user: Any, api_for: Any) -> Any:
    return api_for(make_user("cpc_technician", org))


def test_scan_of_a_valid_din_reports_its_fields_and_check_character(api: Any) -> None:
    res = api.post("/scans/parse", {"data": "=G12341765432170"})
    assert res.status_code == 200
    body = res.json()
    assert body["valid"] is True
    din = body["structures"][0]
    assert din["type"] == "din"
    assert din["fields"]["din"] == "G123417654321"
    assert din["check_character"] == "A"
    assert din["errors"] == []


def test_scan_with_a_misread_check_flag_is_invalid_and_says_why(api: Any) -> None:
    body = api.post("/scans/parse", {"data": "=G12341765432171"}).json()
    assert body["valid"] is False
    codes = [e["code"] for e in body["structures"][0]["errors"]]
    assert "isbt128.bad_check_character" in codes


def test_concatenated_scan_yields_each_structure(api: Any) -> None:
    body = api.post("/scans/parse", {"data": "=G12341765432170&>0183652359"}).json()
    assert [s["type"] for s in body["structures"]] == ["din", "expiration"]
    assert body["structures"][1]["fields"]["date"] == "2018-12-31"


def test_scan_with_no_data_field_is_a_422_in_the_error_shape(api: Any) -> None:
    res = api.post("/scans/parse", {"text": "=G12341765432170"})
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "invalid_input"
    assert "data" in res.json()["error"]["fields"]


def test_scan_with_malformed_json_is_a_400(api: Any) -> None:
    res = api.post("/scans/parse", raw="{not json")
    assert res.status_code == 400
    assert "error" in res.json()


def test_scan_of_something_not_isbt_is_answered_not_crashed(api: Any) -> None:
    body = api.post("/scans/parse", {"data": "hello"}).json()
    assert body["valid"] is False
    assert body["structures"][0]["errors"]


def test_scan_requires_authentication(db: Any) -> None:
    from django.test import Client

    res = Client().post("/api/v1/scans/parse", {"data": "x"}, content_type="application/json")
    assert res.status_code == 401
    assert res.json()["error"]["code"] == "not_authenticated"


def test_forecast_answers_earliest_likely_latest_and_plan(api: Any) -> None:
    res = api.post(
        "/processing/expansion-forecast",
        {"tissue_g": 20, "target_cells": 2e8, "start_date": "2026-04-01"},
    )
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["earliest"] <= body["likely"] <= body["latest"]
    assert body["passages"] >= 1
    assert body["culture_area_cm2"] > 0
    assert isinstance(body["warnings"], list)


def test_forecast_with_a_tight_passage_limit_warns(api: Any) -> None:
    body = api.post(
        "/processing/expansion-forecast",
        {
            "tissue_g": 2,
            "target_cells": 1e10,
            "start_date": "2026-04-01",
            "parameters": {"passage_limit": 1},
        },
    ).json()
    assert body["warnings"]
    assert body["feasible"] is False


def test_forecast_rejects_negative_tissue_with_a_field_error(api: Any) -> None:
    res = api.post(
        "/processing/expansion-forecast",
        {"tissue_g": -1, "target_cells": 2e8, "start_date": "2026-04-01"},
    )
    assert res.status_code == 422
    assert "tissue_g" in res.json()["error"]["fields"]


def test_forecast_rejects_unknown_parameter(api: Any) -> None:
    res = api.post(
        "/processing/expansion-forecast",
        {
            "tissue_g": 20,
            "target_cells": 2e8,
            "start_date": "2026-04-01",
            "parameters": {"nonsense": 3},
        },
    )
    assert res.status_code == 422
    assert "nonsense" in res.json()["error"]["fields"]


def test_forecast_rejects_bad_date(api: Any) -> None:
    res = api.post(
        "/processing/expansion-forecast",
        {"tissue_g": 20, "target_cells": 2e8, "start_date": "tomorrow"},
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "invalid_input"


def test_forecast_from_actual_counts(api: Any) -> None:
    body = api.post(
        "/processing/expansion-forecast",
        {
            "tissue_g": 20,
            "target_cells": 2e8,
            "start_date": "2026-04-01",
            "actual_counts": [
                {"date": "2026-04-08", "passage": 1, "cells": 2e6},
                {"date": "2026-04-15", "passage": 2, "cells": 1.2e7},
            ],
        },
    ).json()
    assert body["based_on_observations"] is True
