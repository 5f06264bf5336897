"""Identity per treatment course, tried as an auditor would: the chain-of-identity identifier is
the course's (one per course, shared by a repeat harvest, never by another course), and the
collection type a label prints is the plan's cell source, never a constant (fail closed)."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.processing import services
from saisei.processing.isbt128 import parse_scan
from saisei.processing.models import ChainOfIdentity, Donation, Dose, LabelPrint, NearMiss
from saisei.processing.tests.factories import (
    harvest,
    make_course,
    make_donation,
    make_lot,
    make_patient,
    negative_markers,
)
from saisei.processing.tests.test_labels import _decoded, _raster, _text

pytestmark = pytest.mark.django_db


def _doses(tech: Any, patient: Any, **kw: Any) -> list[Any]:
    lot = make_lot(tech, patient, donation=make_donation(tech, patient, **kw))
    harvest(tech, lot)
    return services.dose_divide(
        actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}] * 2
    )


def _set_cell_source(course: Any, value: str) -> None:
    """The plan (and, consistently, the course's harvests) state another cell source."""
    course.plan.versions.update(cell_origin=value)
    Donation.objects.filter(course=course).update(cell_source=value)


# --- one identifier per course -------------------------------------------------------------


def test_a_repeat_harvest_for_the_same_course_shares_its_identifier(tech: Any, patient: Any):
    first = make_donation(tech, patient)
    repeat = make_donation(tech, patient, course=first.course)
    assert repeat.din != first.din
    assert repeat.coi == first.coi == first.course.chain_of_identity.coi
    assert ChainOfIdentity.objects.count() == 1


def test_a_new_course_of_the_same_patient_gets_a_new_identifier(tech: Any, patient: Any):
    first = make_donation(tech, patient)
    second = make_donation(tech, patient)
    assert first.course != second.course
    assert second.coi != first.coi
    assert {i.coi for i in ChainOfIdentity.objects.all()} == {first.coi, second.coi}
    assert parse_scan(f"&/{second.coi}").valid


def test_doses_carry_their_courses_identifier(tech: Any, patient: Any):
    doses = _doses(tech, patient)
    course = doses[0].lot.donation.course
    assert {d.coi for d in doses} == {course.chain_of_identity.coi}


def test_a_harvest_without_a_course_is_refused(tech: Any, patient: Any):
    course = make_course(patient)
    with pytest.raises(ValidationFailed) as exc:
        services.donation_record(
            actor=course.physician.user,
            patient=patient,
            site=course.plan.institution.site,
            physician=course.physician,
            facility=course.facility,
            cell_source="autologous",
            harvest_site="abdomen",
            tissue_weight_g=20,
            container="tube",
            infection_markers=negative_markers(),
        )
    assert exc.value.code == "course_required"
    assert not Donation.objects.exists()


def test_a_harvest_for_another_patients_course_is_refused(tech: Any, patient: Any, org: Any):
    other_course = make_course(make_patient(org))
    with pytest.raises(ValidationFailed) as exc:
        make_donation(tech, patient, course=other_course)
    assert exc.value.code == "course_other_patient"


def test_a_harvest_under_another_plan_than_the_courses_is_refused(tech: Any, patient: Any):
    course = make_course(patient)
    other_plan = make_course(patient, fresh=True).plan
    with pytest.raises(ValidationFailed) as exc:
        make_donation(tech, patient, course=course, plan=other_plan)
    assert exc.value.code == "course_other_plan"


def test_a_harvest_for_a_stopped_course_is_refused(tech: Any, patient: Any):
    course = make_course(patient)
    course.status = "stopped"
    course.save()
    with pytest.raises(Conflict) as exc:
        make_donation(tech, patient, course=course)
    assert exc.value.code == "course_closed"


def test_the_api_needs_the_course_and_answers_it(tech: Any, patient: Any, api_for: Any):
    course = make_course(patient)
    api = api_for(course.physician.user)
    body = {
        "patient": str(patient.external_id),
        "site": str(course.plan.institution.site.external_id),
        "physician": str(course.physician.external_id),
        "facility": str(course.facility.external_id),
        "cell_source": "autologous",
        "harvest_site": "abdomen",
        "tissue_weight_g": 20,
        "container": "tube",
        "infection_markers": negative_markers(),
    }
    res = api.post("/processing/donations", body)
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "course_required"
    assert "course" in res.json()["error"]["fields"]
    other = make_course(make_patient(patient.organisation))
    res = api.post("/processing/donations", {**body, "course": str(other.external_id)})
    assert res.status_code == 422 and res.json()["error"]["code"] == "course_other_patient"
    res = api.post("/processing/donations", {**body, "course": str(course.external_id)})
    assert res.status_code == 201, res.content
    first = res.json()
    res = api.post("/processing/donations", {**body, "course": str(course.external_id)})
    assert res.json()["coi"] == first["coi"]  # repeat harvest, same course
    assert res.json()["course"] == str(course.external_id)


def test_the_harvest_form_needs_the_course(patient: Any, web_for: Any):
    course = make_course(patient)
    form = {
        "patient": patient.pk,
        "site": course.plan.institution.site.pk,
        "harvest_site": "abdomen",
        "tissue_weight_g": "18.5",
        "collected_at": f"{timezone.localdate() - dt.timedelta(days=2):%Y-%m-%d}T09:30",
        "container": "250 mL bottle",
    }
    res = web_for(course.physician.user).post("/processing/donations/new/", form)
    assert res.status_code == 400
    assert "course" in res.context["form"].errors
    assert not Donation.objects.exists()


# --- custody compares the course's identifier ----------------------------------------------


def test_a_handover_scan_with_another_courses_identifier_is_a_near_miss(
    tech: Any, patient: Any, web_for: Any
):
    first = make_donation(tech, patient)
    second = make_donation(tech, patient)
    scan = f"={second.din}{second.din_flags}&/{first.coi}"  # right DIN, course 1's CoI
    with pytest.raises(Conflict) as exc:
        services.custody_handover(
            actor=tech,
            stage="collection",
            scan_text=scan,
            donation=second,
            from_party="OR",
            to_party="Nurse",
            place="Clinic",
        )
    assert exc.value.code == "identity_mismatch"
    assert "another treatment course" in str(exc.value.message)
    miss = NearMiss.objects.get()
    assert miss.reason == "coi_mismatch" and second.coi in miss.expected
    res = web_for(tech).post(
        f"/processing/donations/{second.external_id}/handover/",
        {
            "stage": "collection",
            "from_party": "OR",
            "to_party": "Nurse",
            "place": "Clinic",
            "scan": scan,
        },
    )
    assert res.status_code == 400 and "STOP" in res.content.decode()
    assert NearMiss.objects.count() == 2


def test_a_donation_bound_to_no_course_is_refused_at_handover_and_label(tech: Any, patient: Any):
    donation = make_donation(tech, patient)
    Donation.objects.filter(pk=donation.pk).update(course=None)
    donation.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.custody_handover(
            actor=tech,
            stage="collection",
            scan_text=f"={donation.din}{donation.din_flags}",
            donation=donation,
            from_party="OR",
            to_party="Nurse",
            place="Clinic",
        )
    assert exc.value.code == "course_identity_unbound"
    with pytest.raises(Conflict) as exc:
        services.donation_label_print(actor=tech, donation=donation)
    assert exc.value.code == "course_identity_unbound"
    assert not LabelPrint.objects.exists()


def test_a_bag_whose_identifier_disagrees_with_its_course_prints_no_label(tech: Any, patient: Any):
    dose = _doses(tech, patient)[0]
    Dose.objects.filter(pk=dose.pk).update(coi="CHA999926ZZZZZZ")
    dose.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "course_identity_mismatch"


# --- collection type from the plan's cell source ----------------------------------------------


def test_an_autologous_plan_labels_for_autologous_use_only(tech: Any, patient: Any, tmp_path):
    dose = _doses(tech, patient)[0]
    assert dose.product_code[5] == "1"
    _record, pdf = services.label_print(actor=tech, dose=dose)
    text = _text(pdf, tmp_path)
    assert "FOR AUTOLOGOUS USE ONLY" in text and "ALLOGENEIC" not in text
    assert dose.lot.donation.course.chain_of_identity.coi in text


def test_an_allogeneic_plan_labels_the_allogeneic_collection_type_and_decodes_to_it(
    tech: Any, patient: Any, tmp_path
):
    dose = _doses(tech, patient, cell_origin="allogeneic")[0]
    assert dose.lot.collection_type == "V"
    _record, pdf = services.label_print(actor=tech, dose=dose)
    text = _text(pdf, tmp_path)
    assert "ALLOGENEIC DONOR CELLS" in text and "AUTOLOGOUS" not in text
    (page,) = _raster(pdf, tmp_path)
    product = next(code for code in _decoded(page) if code.startswith("=<"))
    assert product == f"=<{dose.product_code}" and product[7] == "V"
    fields = parse_scan(product).structures[0].fields
    assert fields["collection_type"] == "V"
    assert fields["collection_type_meaning"] == "volunteer_allogeneic"
    assert fields["autologous"] is False


def test_the_allogeneic_label_through_the_api_and_the_page(
    tech: Any, patient: Any, api_for: Any, web_for: Any, tmp_path
):
    dose = _doses(tech, patient, cell_origin="allogeneic")[0]
    res = api_for(tech).post(f"/processing/doses/{dose.external_id}/labels", {"count": 1})
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    assert "ALLOGENEIC DONOR CELLS" in _text(res.content, tmp_path)
    res = web_for(tech).post(
        f"/processing/doses/{dose.external_id}/labels/", {"count": 1, "reason": "second copy"}
    )
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    assert "=<S9999V" in "".join(_decoded(_raster(res.content, tmp_path)[0]))


def test_the_tissue_label_follows_the_plan_too(tech: Any, patient: Any, tmp_path):
    donation = make_donation(tech, patient, cell_origin="allogeneic")
    _record, pdf = services.donation_label_print(actor=tech, donation=donation)
    assert "ALLOGENEIC DONOR CELLS" in _text(pdf, tmp_path)
    assert _record.content["product_code"][7] == "V"


def test_a_plan_whose_cell_source_has_no_collection_type_prints_no_label(
    tech: Any, patient: Any, api_for: Any, web_for: Any
):
    dose = _doses(tech, patient)[0]
    _set_cell_source(dose.lot.donation.course, "xenogeneic")
    dose = Dose.objects.get(pk=dose.pk)
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "collection_type_unknown"
    res = api_for(tech).post(f"/processing/doses/{dose.external_id}/labels", {"count": 1})
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "collection_type_unknown"
    res = web_for(tech).post(f"/processing/doses/{dose.external_id}/labels/", {"count": 1})
    assert res.status_code == 400
    assert "No ISBT 128 collection type is set" in res.content.decode()
    assert not LabelPrint.objects.exists()


def test_a_plan_that_states_no_cell_source_prints_no_label(tech: Any, patient: Any):
    dose = _doses(tech, patient)[0]
    _set_cell_source(dose.lot.donation.course, "")
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "cell_source_unknown"


def test_no_plan_in_force_on_the_collection_day_prints_no_label(tech: Any, patient: Any):
    dose = _doses(tech, patient)[0]
    dose.lot.donation.course.plan.versions.update(in_force_from=timezone.localdate())
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "cell_source_unknown"


def test_a_product_code_that_disagrees_with_the_plan_prints_no_label(tech: Any, patient: Any):
    dose = _doses(tech, patient)[0]  # made as autologous ("1")
    _set_cell_source(dose.lot.donation.course, "allogeneic")
    dose = Dose.objects.get(pk=dose.pk)
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "collection_type_mismatch"


def test_a_harvest_whose_cell_source_disagrees_with_the_plan_prints_no_label(
    tech: Any, patient: Any
):
    dose = _doses(tech, patient)[0]
    dose.lot.donation.course.plan.versions.update(cell_origin="allogeneic")  # harvest: autologous
    with pytest.raises(Conflict) as exc:
        services.label_print(actor=tech, dose=dose)
    assert exc.value.code == "cell_source_mismatch"
    assert not LabelPrint.objects.exists()


def test_a_xenogeneic_plan_cannot_start_a_lot(tech: Any, patient: Any):
    donation = make_donation(tech, patient)
    _set_cell_source(donation.course, "xenogeneic")
    with pytest.raises(Conflict) as exc:
        make_lot(tech, patient, donation=donation)
    assert exc.value.code == "collection_type_unknown"


@pytest.mark.parametrize(
    ("mapping", "source"),
    [({"allogeneic": "1"}, "allogeneic"), ({"autologous": "V"}, "autologous"), ({}, "autologous")],
)
def test_a_site_mapping_of_the_wrong_kind_or_none_is_refused(settings: Any, mapping, source):
    settings.SAISEI_PROCESSING = {"collection_types_by_cell_source": mapping}
    with pytest.raises(Conflict) as exc:
        services.collection_type_for_cell_source(source)
    assert exc.value.code == "collection_type_unknown"


# --- binding a harvest recorded before courses were required -----------------------------------


def test_qa_binds_an_unbound_harvest_and_its_bags_take_the_courses_identifier(
    tech: Any, qa: Any, patient: Any, api_for: Any
):
    dose = _doses(tech, patient)[0]
    donation = dose.lot.donation
    course = donation.course
    Donation.objects.filter(pk=donation.pk).update(course=None, coi="CHA999925000777")
    Dose.objects.filter(lot__donation=donation).update(coi="CHA999925000777")
    res = api_for(tech).post(
        f"/processing/donations/{donation.external_id}/course",
        {"course": str(course.external_id), "reason": "legacy harvest"},
    )
    assert res.status_code == 403
    res = api_for(qa).post(
        f"/processing/donations/{donation.external_id}/course",
        {"course": str(course.external_id), "reason": "Harvest recorded before course binding."},
    )
    assert res.status_code == 200, res.content
    assert res.json()["coi"] == course.chain_of_identity.coi
    assert set(Dose.objects.filter(lot__donation=donation).values_list("coi", flat=True)) == {
        course.chain_of_identity.coi
    }
    res = api_for(qa).post(
        f"/processing/donations/{donation.external_id}/course",
        {"course": str(course.external_id), "reason": "again"},
    )
    assert res.status_code == 409 and res.json()["error"]["code"] == "course_already_bound"


def test_binding_needs_a_reason_and_qa(tech: Any, qa: Any, patient: Any, web_for: Any):
    donation = make_donation(tech, patient)
    course = donation.course
    Donation.objects.filter(pk=donation.pk).update(course=None)
    donation.refresh_from_db()
    with pytest.raises(Forbidden):
        services.donation_course_bind(actor=tech, donation=donation, course=course, reason="x")
    with pytest.raises(ValidationFailed):
        services.donation_course_bind(actor=qa, donation=donation, course=course, reason=" ")
    page = web_for(qa).get(f"/processing/donations/{donation.external_id}/").content.decode()
    assert "Not bound to a treatment course" in page and "Bind to this course" in page
    res = web_for(qa).post(
        f"/processing/donations/{donation.external_id}/course/",
        {"course": course.pk, "reason": "Recorded before course binding."},
    )
    assert res.status_code == 302
    donation.refresh_from_db()
    assert donation.course == course and donation.coi == course.chain_of_identity.coi


# --- the data migration ------------------------------------------------------------------------


def _migration() -> Any:
    return importlib.import_module("saisei.processing.migrations.0004_bind_donations_to_courses")


def _legacy(tech: Any, patient: Any) -> tuple[Any, Any, Any, Any]:
    """Two courses of one patient whose harvests share one CoI and no course binding, as the old
    code left them (no identity rows existed then)."""
    from django.db import connection

    # Each course under its own plan, as when the old code ran (the plan told courses apart).
    first = _doses(tech, patient, course=make_course(patient, fresh=True))[0].lot.donation
    second = _doses(tech, patient, course=make_course(patient, fresh=True))[0].lot.donation
    course1, course2 = first.course, second.course
    Donation.objects.filter(pk=second.pk).update(
        coi=first.coi, collected_at=timezone.now() - dt.timedelta(days=10)
    )
    Dose.objects.filter(lot__donation=second).update(coi=first.coi)
    Donation.objects.update(course=None)
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {ChainOfIdentity._meta.db_table}")
    first.refresh_from_db()
    second.refresh_from_db()
    return first, second, course1, course2


def test_the_migration_gives_each_course_its_own_identifier_and_is_idempotent(
    tech: Any, patient: Any
):
    first, second, course1, course2 = _legacy(tech, patient)
    old = first.coi
    assert second.coi == old
    _migration().bind_and_issue(apps, None)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.course == course1 and second.course == course2
    assert first.coi == old  # the course that issued it first keeps it
    assert second.coi == f"CH{second.din}" != old
    assert set(Dose.objects.filter(lot__donation=second).values_list("coi", flat=True)) == {
        second.coi
    }
    assert ChainOfIdentity.objects.get(course=course2).coi == second.coi
    snapshot = list(Donation.objects.order_by("pk").values_list("course_id", "coi"))
    _migration().bind_and_issue(apps, None)
    assert list(Donation.objects.order_by("pk").values_list("course_id", "coi")) == snapshot
    assert ChainOfIdentity.objects.count() == 2


def test_the_migration_never_guesses_between_courses(tech: Any, patient: Any):
    _legacy(tech, patient)
    Donation.objects.update(plan=None)  # no plan to tell the courses apart, no harvest steps
    _migration().bind_and_issue(apps, None)
    assert not Donation.objects.filter(course__isnull=False).exists()
    assert not ChainOfIdentity.objects.exists()


def test_the_migration_places_a_harvest_by_its_harvest_step(tech: Any, patient: Any):
    from saisei.journey.models import CourseStep

    first, second, _course1, course2 = _legacy(tech, patient)
    Donation.objects.update(plan=None)
    CourseStep.objects.create(
        organisation=course2.organisation,
        course=course2,
        kind="harvest",
        number=1,
        planned_date=timezone.localdate(second.collected_at),
    )
    _migration().bind_and_issue(apps, None)
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.course == course2
    assert first.course is None  # the first course has no harvest step on its day
