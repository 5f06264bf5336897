"""Retention as data: every record class has a period; a disposal before it ends is refused
(API and page), fail closed for a class without a row; the handover archive verifies and
detects a changed file."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from saisei.core.archive import archive_verify, archive_write
from saisei.core.errors import Conflict
from saisei.core.retention import missing_rules, retention_guard, retention_report, rules

pytestmark = pytest.mark.django_db


def test_every_record_class_has_a_retention_row_with_a_source() -> None:
    assert missing_rules() == []
    for rule in rules().values():
        assert rule.years > 0 and rule.source


def test_a_certain_period_is_never_shortened_by_configuration(settings: Any) -> None:
    settings.SAISEI_RETENTION_YEARS = {"treatment.Administration": 1, "journey.Quote": 3}
    assert rules()["treatment.Administration"].years == 10
    assert rules()["journey.Quote"].years == 3  # uncertain: the clinic decides


def _record(org: Any) -> Any:
    from saisei.regulatory.tests.factories import PhysicianFactory

    return PhysicianFactory(organisation=org)


def test_a_disposal_before_the_period_ends_is_refused_through_the_api(
    api_for: Any, make_user: Any, org: Any
) -> None:
    record = _record(org)
    res = api_for(make_user("compliance_officer", org)).post(
        "/retention/dispose",
        {"model": "regulatory.Physician", "id": str(record.external_id), "reason": "closing"},
    )
    assert res.status_code == 409, res.content
    assert res.json()["error"]["code"] == "retention_period_running"
    record.refresh_from_db()
    assert record.voided_at is None


def test_a_disposal_after_the_period_is_allowed(api_for: Any, make_user: Any, org: Any) -> None:
    from saisei.regulatory.models import Physician

    record = _record(org)
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    Physician.objects.filter(pk=record.pk).update(created_at=long_ago, updated_at=long_ago)
    # updated_at moves on save; the start event is the record's last change, so age the row.
    res = api_for(make_user("org_admin", org)).post(
        "/retention/dispose",
        {"model": "regulatory.Physician", "id": str(record.external_id), "reason": "period over"},
    )
    assert res.status_code == 200, res.content


def test_a_disposal_before_the_period_ends_is_refused_on_the_page(
    web_for: Any, make_user: Any, org: Any
) -> None:
    record = _record(org)
    res = web_for(make_user("org_admin", org)).post(
        "/records/dispose/",
        {"model": "regulatory.Physician", "external_id": str(record.external_id), "reason": "x"},
    )
    assert res.status_code == 400
    assert "cannot be disposed of before" in res.content.decode()
    record.refresh_from_db()
    assert record.voided_at is None


@pytest.mark.parametrize("role", ["physician", "qa_manager", "nurse"])
def test_other_roles_cannot_dispose_or_read_the_report(
    api_for: Any, make_user: Any, org: Any, role: str
) -> None:
    record = _record(org)
    client = api_for(make_user(role, org))
    assert client.get("/retention").status_code == 403
    res = client.post(
        "/retention/dispose",
        {"model": "regulatory.Physician", "id": str(record.external_id), "reason": "x"},
    )
    assert res.status_code == 403


def test_a_class_without_a_row_is_refused(org: Any) -> None:
    with pytest.raises(Conflict) as exc:
        retention_guard(action="thing.void", subject=("x.thing", "1"))
    assert exc.value.code == "retention_unknown"


def test_the_report_counts_and_dates(org: Any, api_for: Any, make_user: Any) -> None:
    _record(org)
    rows = {r.model: r for r in retention_report(organisation=org)}
    row = rows["regulatory.Physician"]
    assert row.count == 1 and row.earliest_purge is not None
    res = api_for(make_user("compliance_officer", org)).get("/retention")
    assert res.status_code == 200
    assert any(r["model"] == "regulatory.Physician" and r["count"] == 1 for r in res.json())


def test_retention_report_command(org: Any, capsys: Any) -> None:
    call_command("retention", "report", org.slug)
    assert "regulatory.Physician" in capsys.readouterr().out


def test_the_archive_verifies_and_detects_a_changed_file(org: Any, tmp_path: Path) -> None:
    _record(org)
    path = tmp_path / "a.zip"
    manifest = archive_write(organisation=org, path=path)
    assert "data/regulatory.Physician.json" in manifest["files"]
    assert archive_verify(path) == []
    call_command("archive", "verify", str(path))
    # Change one file: rewrite the zip with altered CSV content.
    changed = tmp_path / "b.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(changed, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "data/regulatory.Physician.csv":
                data = data.replace(b"\n", b"\nX", 1)
            dst.writestr(name, data)
    assert archive_verify(changed) == ["changed: data/regulatory.Physician.csv"]
    with pytest.raises(CommandError):
        call_command("archive", "verify", str(changed))
    assert json.loads(zipfile.ZipFile(path).read("manifest.json"))["format"] == "saisei-handover/2"


def test_archive_start_is_org_admin_only_and_runs_in_the_worker(
    api_for: Any, make_user: Any, org: Any, settings: Any, tmp_path: Path
) -> None:
    from saisei.core.models import HandoverArchive
    from saisei.core.records import archive_path, archive_run

    settings.DATA_DIR = tmp_path
    assert (
        api_for(make_user("compliance_officer", org)).post("/archives", {"reason": "x"}).status_code
        == 403
    )
    res = api_for(make_user("org_admin", org)).post("/archives", {"reason": "handover"})
    assert res.status_code == 202, res.content
    archive = HandoverArchive.objects.get()
    if archive.status == "queued":
        archive_run(archive_id=archive.pk)
    archive.refresh_from_db()
    assert archive.status == "completed", archive.error
    assert archive_verify(archive_path(archive)) == []
