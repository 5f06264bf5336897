"""Chain of identity and custody: scans at every hand-over, near-misses, doses given once, labels."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.tests.esign import signed
from saisei.processing import selectors, services
from saisei.processing.models import CustodyEvent, Dose, LabelPrint, NearMiss
from saisei.processing.tests.factories import give, harvest, make_lot, make_patient, record_all

pytestmark = pytest.mark.django_db


def _released_doses(tech: Any, qa: Any, patient: Any) -> list[Dose]:
    lot = make_lot(tech, patient)
    harvest(tech, lot)
    doses = services.dose_divide(
        actor=tech,
        lot=lot,
        bags=[{"cell_count": 1e8, "volume_ml": 50}, {"cell_count": 1e8, "volume_ml": 50}],
    )
    services.lot_submit_qc(actor=tech, lot=lot)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning="release")
    for i, dose in enumerate(doses):
        services.dose_cryopreserve(
            actor=tech, dose=dose, freezer="LN2-1", rack="R1", position=f"{lot.pk}-{i}"
        )
    return [Dose.objects.get(pk=d.pk) for d in doses]


def scan_of(dose: Dose) -> str:
    flags = dose.lot.donation.din_flags
    return f"={dose.din}{flags}=<{dose.product_code}&/{dose.coi}"


def test_dose_for_scan_finds_the_bag_from_its_label(tech: Any, qa: Any, patient: Any) -> None:
    first, second = _released_doses(tech, qa, patient)
    assert selectors.dose_for_scan(actor=tech, scan_text=scan_of(second)) == second
    # DIN alone is ambiguous between two bags: no guess.
    assert (
        selectors.dose_for_scan(actor=tech, scan_text=f"={first.din}{first.lot.donation.din_flags}")
        is None
    )
    assert selectors.dose_for_scan(actor=tech, scan_text="garbage") is None


def test_dose_for_scan_is_scoped_to_the_organisation(
    tech: Any, qa: Any, patient: Any, other_org: Any, make_user: Any
) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    outsider = make_user("nurse", other_org)
    assert selectors.dose_for_scan(actor=outsider, scan_text=scan_of(dose)) is None


def test_handover_with_matching_container_is_recorded_and_moves_the_dose(
    tech: Any, qa: Any, patient: Any
) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    event = services.custody_handover(
        actor=tech,
        stage="shipment",
        scan_text=scan_of(dose),
        dose=dose,
        from_party="CPC",
        to_party="Courier",
        place="CPC dock",
        temperature_min_c=-190,
        temperature_max_c=-170,
    )
    dose.refresh_from_db()
    assert dose.status == Dose.Status.SHIPPED
    assert event.excursion is False


def test_handover_with_another_patients_container_is_refused_and_recorded(
    tech: Any, qa: Any, patient: Any, org: Any
) -> None:
    mine = _released_doses(tech, qa, patient)[0]
    other = _released_doses(tech, qa, make_patient(org))[0]
    with pytest.raises(Conflict) as exc:
        services.custody_handover(
            actor=tech,
            stage="shipment",
            scan_text=scan_of(other),
            dose=mine,
            from_party="CPC",
            to_party="Courier",
            place="CPC dock",
            temperature_min_c=-190,
            temperature_max_c=-170,
        )
    assert exc.value.code == "identity_mismatch"
    mine.refresh_from_db()
    assert mine.status == Dose.Status.RELEASED
    assert not CustodyEvent.objects.filter(dose=mine).exists()
    near_miss = NearMiss.objects.get()
    assert near_miss.dose == mine
    assert near_miss.reason == "din_mismatch"
    assert near_miss.patient == patient


def test_other_bag_of_the_same_donation_is_a_mismatch_too(tech: Any, qa: Any, patient: Any) -> None:
    first, second = _released_doses(tech, qa, patient)
    with pytest.raises(Conflict):
        services.custody_handover(
            actor=tech,
            stage="storage",
            scan_text=scan_of(second),
            dose=first,
            from_party="CPC",
            to_party="LN2-1",
            place="CPC",
        )
    assert NearMiss.objects.get().reason == "product_code_mismatch"


def test_unreadable_scan_is_refused_without_a_near_miss(tech: Any, qa: Any, patient: Any) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    with pytest.raises(ValidationFailed):
        services.custody_handover(
            actor=tech,
            stage="storage",
            scan_text="=A99992",
            dose=dose,
            from_party="CPC",
            to_party="LN2-1",
            place="CPC",
        )
    assert not NearMiss.objects.exists()


def test_transport_needs_temperatures_and_logger_excursion_opens_deviation(
    tech: Any, qa: Any, patient: Any
) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    with pytest.raises(ValidationFailed):
        services.custody_handover(
            actor=tech,
            stage="shipment",
            scan_text=scan_of(dose),
            dose=dose,
            from_party="CPC",
            to_party="Courier",
            place="dock",
        )
    csv_text = "time,temperature\n2026-04-01T10:00,-185\n2026-04-01T11:00,-120\n"
    event = services.custody_handover(
        actor=tech,
        stage="shipment",
        scan_text=scan_of(dose),
        dose=dose,
        from_party="CPC",
        to_party="Courier",
        place="dock",
        logger_csv=csv_text,
    )
    assert event.excursion is True
    assert event.logger_summary["readings"] == 2
    assert dose.lot.deviations.filter(source="custody").exists()


def test_chain_of_custody_report_shows_breaks(tech: Any, qa: Any, patient: Any) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    services.custody_handover(
        actor=tech,
        stage="shipment",
        scan_text=scan_of(dose),
        dose=dose,
        from_party="CPC",
        to_party="Courier",
        place="dock",
        temperature_min_c=-190,
        temperature_max_c=-170,
    )
    services.custody_handover(
        actor=tech,
        stage="clinic_receipt",
        scan_text=scan_of(dose),
        dose=dose,
        from_party="Courier",
        to_party="Clinic pharmacy",
        place="Clinic",
    )
    report = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=tech, dose=dose))
    )
    assert report["unbroken"] is True
    services.custody_handover(
        actor=tech,
        stage="bedside",
        scan_text=scan_of(dose),
        dose=dose,
        from_party="Somebody else",
        to_party="Nurse",
        place="Room 3",
    )
    report = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=tech, dose=dose))
    )
    assert report["unbroken"] is False and len(report["breaks"]) == 1


def test_a_dose_is_administered_only_once(tech: Any, qa: Any, nurse: Any, patient: Any) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    services.dose_thaw(actor=nurse, dose=dose, viability_pct=85)
    given = give(dose, nurse=nurse)
    assert given.status == "administered" and given.administration_ref
    with pytest.raises(Conflict) as exc:
        services.dose_administer(actor=nurse, administration=dose.administration)
    assert exc.value.code == "dose_already_administered"


def test_a_dose_is_marked_given_only_through_an_administration_the_gate_allowed(
    tech: Any, qa: Any, nurse: Any, patient: Any
) -> None:
    """dose_administer is not a way to give a dose: it needs a stored, gate-allowed record."""
    from saisei.treatment.models import Administration

    dose = _released_doses(tech, qa, patient)[0]
    services.dose_thaw(actor=nurse, dose=dose, viability_pct=85)
    with pytest.raises(Conflict) as exc:
        services.dose_administer(actor=nurse, administration=None)
    assert exc.value.code == "administration_required"
    with pytest.raises(Conflict) as exc:
        services.dose_administer(actor=nurse, administration=Administration(dose=dose))
    assert exc.value.code == "administration_required"
    give(dose, nurse=nurse)
    refused = Administration.objects.get(dose=dose)
    Administration.objects.filter(pk=refused.pk).update(gate_result={"allowed": False})
    refused.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.dose_administer(actor=nurse, administration=refused)
    assert exc.value.code == "compliance_gate_refused"


def test_low_post_thaw_viability_blocks_administration(
    tech: Any, qa: Any, nurse: Any, patient: Any
) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    services.dose_thaw(actor=nurse, dose=dose, viability_pct=55)
    with pytest.raises(Conflict):
        give(dose, nurse=nurse)
    assert dose.lot.deviations.filter(source="oos").exists()


def test_storage_position_holds_one_bag(tech: Any, qa: Any, patient: Any) -> None:
    first, second = _released_doses(tech, qa, patient)
    with pytest.raises(Conflict) as exc:
        services.dose_cryopreserve(
            actor=tech, dose=second, freezer=first.freezer, rack=first.rack, position=first.position
        )
    assert exc.value.code == "storage_position_taken"


def test_labels_are_counted_and_reprints_need_a_reason(tech: Any, qa: Any, patient: Any) -> None:
    dose = _released_doses(tech, qa, patient)[0]
    record, pdf = services.label_print(actor=tech, dose=dose, count=2)
    assert pdf.startswith(b"%PDF")
    assert record.is_reprint is False
    with pytest.raises(ValidationFailed) as exc:
        services.label_print(actor=tech, dose=dose, count=1)
    assert exc.value.code == "reprint_reason_required"
    again, _ = services.label_print(actor=tech, dose=dose, count=1, reason="Label smudged")
    assert again.is_reprint
    services.label_reconcile(actor=tech, label=record, applied=1, destroyed=1)
    with pytest.raises(ValidationFailed):
        services.label_reconcile(actor=tech, label=again, applied=1, destroyed=1)
    summary = selectors.label_reconciliation(actor=tech, lot=dose.lot)
    assert summary == {"issued": 3, "applied": 1, "destroyed": 1, "unaccounted": 1}
    assert LabelPrint.objects.count() == 2


def test_label_symbols_decode_to_the_dose_identity(
    tech: Any, qa: Any, patient: Any, tmp_path: Any
) -> None:
    import shutil
    import subprocess

    import zxingcpp
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    dose = _released_doses(tech, qa, patient)[0]
    record, pdf = services.label_print(actor=tech, dose=dose, count=1)
    (tmp_path / "label.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", str(tmp_path / "label.pdf"), str(tmp_path / "page")],
        check=True,
    )
    image = Image.open(sorted(tmp_path.glob("page*.png"))[0])
    texts = {r.text for r in zxingcpp.read_barcodes(image)}
    assert record.content["datamatrix"] in texts
    assert f"={dose.din}{dose.lot.donation.din_flags}" in texts
    assert selectors.dose_for_scan(actor=tech, scan_text=record.content["datamatrix"]) == dose


def test_an_expired_bag_cannot_be_thawed(tech: Any, qa: Any, nurse: Any, patient: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    dose = _released_doses(tech, qa, patient)[0]
    Dose.objects.filter(pk=dose.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    dose.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.dose_thaw(actor=nurse, dose=dose, viability_pct=90)
    assert exc.value.code == "thaw_refused"


def test_tissue_container_label_carries_the_din_and_counts_reprints(
    tech: Any, physician: Any, patient: Any, api_for: Any, tmp_path: Any
) -> None:
    import shutil
    import subprocess

    import zxingcpp
    from PIL import Image

    from saisei.processing.tests.factories import make_donation

    donation = make_donation(physician, patient)
    record, pdf = services.donation_label_print(actor=physician, donation=donation, count=1)
    assert record.kind == LabelPrint.Kind.DONATION and not record.is_reprint
    res = api_for(tech).post(f"/processing/donations/{donation.external_id}/labels", {"count": 1})
    assert res.status_code == 422 and res.json()["error"]["code"] == "reprint_reason_required"
    res = api_for(tech).post(
        f"/processing/donations/{donation.external_id}/labels", {"count": 1, "reason": "torn"}
    )
    assert res.status_code == 200 and res.content.startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed")
    (tmp_path / "t.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", str(tmp_path / "t.pdf"), str(tmp_path / "p")], check=True
    )
    image = Image.open(sorted(tmp_path.glob("p*.png"))[0])
    texts = {r.text for r in zxingcpp.read_barcodes(image)}
    assert f"={donation.din}{donation.din_flags}" in texts
    # The scanned container label passes the tissue hand-over check.
    event = services.custody_handover(
        actor=physician,
        stage="collection",
        scan_text=record.content["datamatrix"],
        donation=donation,
        from_party="Dr. Sato",
        to_party="Nurse",
        place="OR 1",
    )
    assert event.donation == donation
