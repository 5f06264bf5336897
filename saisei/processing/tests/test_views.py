"""CPC screens: they render for the right roles, refuse others, and show refusals on the form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.tests.esign import signed
from saisei.processing import services, specs
from saisei.processing.models import CustodyEvent, Lot, NearMiss
from saisei.processing.tests.factories import harvest, make_lot, make_patient, record_all

pytestmark = pytest.mark.django_db


def _qc_lot(tech: Any, patient: Any) -> Lot:
    lot = make_lot(tech, patient)
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    return services.lot_submit_qc(actor=tech, lot=lot)


def test_board_shows_lots_by_stage(
    tech: Any, patient: Any, web_for: Any, django_assert_max_num_queries: Any
) -> None:
    make_lot(tech, patient)
    _qc_lot(tech, make_patient(tech.organisation))
    client = web_for(tech)
    with django_assert_max_num_queries(20):
        res = client.get("/processing/")
    assert res.status_code == 200
    assert "QC pending" in res.content.decode()


def _board_queries(client: Any) -> tuple[int, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        res = client.get("/processing/")
    assert res.status_code == 200
    return len(ctx.captured_queries), res


def _due_lot(tech: Any, org: Any) -> Lot:
    lot = make_lot(tech, make_patient(org))
    Lot.objects.filter(pk=lot.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    return lot


def test_board_lists_are_bounded_and_its_queries_do_not_grow_with_the_data(
    tech: Any, patient: Any, web_for: Any, monkeypatch: Any
) -> None:
    from saisei.processing import selectors

    monkeypatch.setattr(selectors, "BOARD_ROWS", 2)
    org = tech.organisation
    _due_lot(tech, org)
    _qc_lot(tech, patient)
    services.deviation_open(actor=tech, title="Incubator alarm", source="other")
    client = web_for(tech)
    client.get("/processing/")  # warm: session, site and role look-ups cached per process
    small, res = _board_queries(client)
    page = res.content.decode()
    assert "due-more" not in page and "qc-more" not in page and "more-in_culture" not in page

    for _ in range(3):
        _due_lot(tech, org)
        services.deviation_open(actor=tech, title="Pressure drop", source="other")
    for _ in range(2):
        _qc_lot(tech, make_patient(org))
    large, res = _board_queries(client)
    assert large == small, "the CPC board's query count grew with the number of lots"
    page = res.content.decode()
    for anchor in ("due-more", "qc-more", "more-in_culture", "deviations-more"):
        assert f'id="{anchor}"' in page, anchor
    stages = {value: lots for value, _label, lots in res.context["stages"]}
    assert len(stages["in_culture"].rows) == 2 and stages["in_culture"].more
    assert res.context["due_today"].count_text == "2+"
    # The links lead to the full lists, with every lot.
    qc = client.get("/processing/lots/?status=qc_pending")
    assert qc.status_code == 200 and len(qc.context["page"].object_list) == 3
    due = client.get("/processing/lots/?due=1")
    assert len(due.context["page"].object_list) == 4
    assert client.get("/processing/lots/?status=bogus&page=999").status_code == 200


def test_home_lists_processing_work(tech: Any, patient: Any, web_for: Any) -> None:
    _qc_lot(tech, patient)
    res = web_for(tech).get("/")
    assert res.status_code == 200
    assert "Lots waiting for QC review and release" in res.content.decode()


def test_lot_detail_reads_like_a_batch_record(tech: Any, patient: Any, web_for: Any) -> None:
    lot = _qc_lot(tech, patient)
    page = web_for(tech).get(f"/processing/lots/{lot.external_id}/").content.decode()
    for text in ("Culture record", "QC against specification", lot.donation.din, "Endotoxin"):
        assert text in page


def test_other_org_lot_page_is_404(
    tech: Any, patient: Any, web_for: Any, make_user: Any, other_org: Any
) -> None:
    lot = make_lot(tech, patient)
    res = web_for(make_user("cpc_technician", other_org)).get(
        f"/processing/lots/{lot.external_id}/"
    )
    assert res.status_code == 404


def test_coordinator_cannot_see_the_board(org: Any, make_user: Any, web_for: Any) -> None:
    assert web_for(make_user("coordinator", org)).get("/processing/").status_code == 403


def test_culture_step_form_records_and_refusal_shows_on_form(
    tech: Any, patient: Any, web_for: Any
) -> None:
    lot = make_lot(tech, patient)
    client = web_for(tech)
    res = client.post(
        f"/processing/lots/{lot.external_id}/steps/",
        {"kind": "passage", "passage_number": 1, "cell_count": "3e6", "viability_pct": 94},
    )
    assert res.status_code == 302
    assert lot.steps.count() == 1
    res = client.post(
        f"/processing/lots/{lot.external_id}/steps/", {"kind": "harvest", "passage_number": 2}
    )
    assert res.status_code == 400
    assert (
        "A passage or harvest needs the viable cell count." in res.content.decode()
        or "Required" in res.content.decode()
    )


def test_release_screen_signs_with_password_and_meaning(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    client = web_for(qa)
    url = f"/processing/lots/{lot.external_id}/release/"
    assert client.get(url).status_code == 200
    res = client.post(url, {"meaning": "Release", "password": "wrong"})
    assert res.status_code == 400
    assert "The password is not correct." in res.content.decode()
    res = client.post(url, signed(qa, meaning="Release"))
    assert res.status_code == 302
    lot.refresh_from_db()
    assert lot.status == Lot.Status.RELEASED
    assert web_for(tech).get(url).status_code == 403


def test_release_screen_refuses_missing_tests(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    lot = _qc_lot(tech, patient)
    record_all(tech, lot, skip=(specs.STERILITY,))
    res = web_for(qa).post(
        f"/processing/lots/{lot.external_id}/release/",
        signed(qa, meaning="Release"),
    )
    assert res.status_code == 400
    assert "Not every required test has passed" in res.content.decode()


def _released_dose(tech: Any, qa: Any, patient: Any) -> Any:
    lot = _qc_lot(tech, patient)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning="release")
    return lot.doses.get()


def test_handover_screen_has_an_autofocused_scan_field(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    dose = _released_dose(tech, qa, patient)
    page = web_for(tech).get(f"/processing/doses/{dose.external_id}/handover/").content.decode()
    assert "autofocus" in page and 'name="scan"' in page


def test_handover_screen_stops_on_another_patients_bag(
    tech: Any, qa: Any, patient: Any, org: Any, web_for: Any
) -> None:
    dose = _released_dose(tech, qa, patient)
    other = _released_dose(tech, qa, make_patient(org))
    client = web_for(tech)
    form = {
        "stage": "storage",
        "from_party": "CPC",
        "to_party": "LN2-1",
        "place": "CPC",
        "scan": f"={other.din}{other.lot.donation.din_flags}=<{other.product_code}",
    }
    res = client.post(f"/processing/doses/{dose.external_id}/handover/", form)
    assert res.status_code == 400
    assert "STOP" in res.content.decode()
    assert NearMiss.objects.count() == 1
    form["scan"] = f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"
    res = client.post(f"/processing/doses/{dose.external_id}/handover/", form)
    assert res.status_code == 302
    assert CustodyEvent.objects.filter(dose=dose).count() == 1
    assert "Unbroken" in client.get(f"/processing/doses/{dose.external_id}/").content.decode()


def test_scan_to_find_a_bag(tech: Any, qa: Any, patient: Any, web_for: Any) -> None:
    dose = _released_dose(tech, qa, patient)
    client = web_for(tech)
    scan = f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"
    res = client.get("/processing/doses/find/", {"scan": scan})
    assert res.status_code == 302 and str(dose.external_id) in res["Location"]
    assert client.get("/processing/doses/find/", {"scan": "=nope"}).status_code == 404


def test_dose_inventory_and_label_pdf(tech: Any, qa: Any, patient: Any, web_for: Any) -> None:
    dose = _released_dose(tech, qa, patient)
    client = web_for(tech)
    assert dose.din in client.get("/processing/doses/").content.decode()
    res = client.post(f"/processing/doses/{dose.external_id}/labels/", {"count": 1})
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    res = client.post(f"/processing/doses/{dose.external_id}/labels/", {"count": 1})
    assert res.status_code == 400
    assert "give the reason for the reprint" in res.content.decode()


def test_deviation_screens(tech: Any, qa: Any, web_for: Any) -> None:
    client = web_for(tech)
    res = client.post(
        "/processing/deviations/", {"title": "Pipette out of calibration", "severity": "minor"}
    )
    assert res.status_code == 302
    detail = res["Location"]
    assert client.get(detail).status_code == 200
    res = client.post(detail, {"status": "closed"})
    assert res.status_code == 403  # only QA closes a deviation
    res = web_for(qa).post(
        detail, {"status": "closed", "investigation": "i", "impact": "n", "capa": "c"}
    )
    assert res.status_code == 302
    assert web_for(qa).get("/processing/near-misses/").status_code == 200


def test_harvest_record_screen_assigns_a_din_and_starts_a_lot(
    tech: Any, physician: Any, patient: Any, web_for: Any
) -> None:
    from saisei.processing.models import Donation
    from saisei.processing.tests.factories import make_course, negative_markers, plan_world

    world = plan_world(physician.organisation)
    course = make_course(patient)
    client = web_for(physician)
    assert client.get("/processing/donations/new/").status_code == 200
    collected = timezone.localtime() - dt.timedelta(days=2)
    form = {
        "patient": patient.pk,
        "course": course.pk,
        "site": world.site.pk,
        "physician": world.physician.pk,
        "facility": world.facility.pk,
        "cell_source": "autologous",
        "harvest_site": "abdomen",
        "tissue_weight_g": "18.5",
        "collected_at": collected.strftime("%Y-%m-%dT%H:%M"),
        "container": "250 mL bottle",
        **{f"marker_{k}": v for k, v in negative_markers().items() if k != "syphilis"},
    }
    res = client.post("/processing/donations/new/", form)
    assert res.status_code == 302, res.content.decode()[:2000]
    donation = Donation.objects.get()
    page = web_for(tech).get(res["Location"]).content.decode()
    assert donation.din in page and "syphilis" in page
    lot_url = f"/processing/donations/{donation.external_id}/lot/"
    res = web_for(tech).post(lot_url, {"planned_doses": 3, "cells_per_dose": "1e8", "route": "iv"})
    assert res.status_code == 400
    assert "Infection-marker results are required before processing." in res.content.decode()
    web_for(tech).post(
        f"/processing/donations/{donation.external_id}/markers/", {"marker_syphilis": "negative"}
    )
    res = web_for(tech).post(lot_url, {"planned_doses": 3, "cells_per_dose": "1e8", "route": "iv"})
    assert res.status_code == 302 and "/processing/lots/" in res["Location"]


def test_tissue_handover_scan_must_match_the_donation(
    tech: Any, patient: Any, org: Any, web_for: Any
) -> None:
    from saisei.processing.tests.factories import make_donation

    mine = make_donation(tech, patient)
    other = make_donation(tech, make_patient(org))
    url = f"/processing/donations/{mine.external_id}/handover/"
    form = {
        "stage": "transport",
        "from_party": "Clinic OR",
        "to_party": "Courier",
        "place": "Clinic",
        "temperature_min_c": 3,
        "temperature_max_c": 6,
        "scan": f"={other.din}{other.din_flags}",
    }
    res = web_for(tech).post(url, form)
    assert res.status_code == 400 and "STOP" in res.content.decode()
    assert NearMiss.objects.filter(stage="transport").count() == 1
    form["scan"] = f"={mine.din}{mine.din_flags}"
    assert web_for(tech).post(url, form).status_code == 302
    assert CustodyEvent.objects.filter(donation=mine).count() == 1


def test_batch_record_and_custody_reports_render_as_pdf(
    tech: Any, qa: Any, patient: Any, web_for: Any, tmp_path: Any
) -> None:
    import shutil
    import subprocess

    dose = _released_dose(tech, qa, patient)
    scan = f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"
    services.custody_handover(
        actor=tech,
        stage="storage",
        scan_text=scan,
        dose=dose,
        from_party="CPC",
        to_party="LN2-1",
        place="CPC",
    )
    client = web_for(qa)
    batch = client.get(f"/processing/lots/{dose.lot.external_id}/batch-record.pdf")
    custody = client.get(f"/processing/doses/{dose.external_id}/custody.pdf")
    for res in (batch, custody):
        assert res.status_code == 200 and res.content.startswith(b"%PDF")
    from saisei.core.models import AccessLogEntry

    logged = AccessLogEntry.objects.filter(actor=qa).values_list("subject_type", "patient_id")
    assert set(logged) == {
        ("processing.batch_record_pdf", str(patient.external_id)),
        ("processing.custody_pdf", str(patient.external_id)),
    }
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed")
    (tmp_path / "b.pdf").write_bytes(batch.content)
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert dose.lot.number in text and "Culture record" in text and "Release" in text


def test_donation_page_prints_container_labels(physician: Any, patient: Any, web_for: Any) -> None:
    from saisei.processing.tests.factories import make_donation

    donation = make_donation(physician, patient)
    client = web_for(physician)
    res = client.post(f"/processing/donations/{donation.external_id}/labels/", {"count": 2})
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    res = client.post(f"/processing/donations/{donation.external_id}/labels/", {"count": 1})
    assert res.status_code == 400
    assert "give the reason for the reprint" in res.content.decode()
