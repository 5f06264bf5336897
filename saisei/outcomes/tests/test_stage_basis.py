"""Honest comparison with natural history: a patient is compared with the natural history of their
own recorded stage (MCI with MCI, never the mild-dementia default); an unknown stage gets no
expected band at all, with a plain statement why. Tried through the pure layer, the API, the
pages, the family report and the cohort, and the data migration for existing schedules."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
import subprocess
from collections import Counter
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saisei.journey.models import Prescreen
from saisei.outcomes import services
from saisei.outcomes.analysis import cohort, cohort_reference, patient_outcomes
from saisei.outcomes.reference import DEFAULT_REFERENCE_ROWS, find_reference, stage_basis
from saisei.outcomes.tests.factories import course_with_steps
from saisei.outcomes.trajectory import Category, read_trajectory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
SCHEME = {"mci": "CDR global score", "mild": "CDR global score", "severe": "FAST"}


@pytest.fixture
def rater(org: Any, make_user: Any) -> Any:
    user = make_user("physician", org)
    for code in ("MMSE", "CDR"):
        services.credential_record(
            actor=make_user("org_admin", org),
            user=user,
            instrument=code,
            kind="licence",
            reference=f"PAR-{code}",
            expires_on=TODAY + dt.timedelta(days=30),
        )
    return user


def _course(org: Any, plan: Any = None) -> Any:
    return course_with_steps(organisation=org, harvest=TODAY - dt.timedelta(days=420), plan=plan)


def _stage(course: Any, stage: str) -> None:
    Prescreen.objects.create(
        organisation=course.organisation,
        patient=course.patient,
        plan=course.plan,
        outcome="eligible",
        stage=stage,
        staging_scheme=SCHEME.get(stage, "MMSE"),
    )


def _cdr_sb(rater: Any, course: Any, first: float, last: float) -> None:
    for days, total in ((400, first), (0, last)):
        services.assessment_record(
            actor=rater,
            patient=course.patient,
            instrument="CDR",
            values={
                "memory": 0.5,
                "orientation": 0.5,
                "judgement": 0.5,
                "community": 0.5,
                "home_hobbies": total - 2.0 if total >= 2.0 else 0,
                "personal_care": 0,
                "global": 0.5,
            },
            assessed_on=TODAY - dt.timedelta(days=days),
        )


def _reading(patient: Any, measure: str = "CDR-SB") -> Any:
    return next(
        t.reading for t in patient_outcomes(patient=patient).trajectories if t.measure == measure
    )


# --- the pure rule ----------------------------------------------------------------------------


def test_an_mci_record_maps_to_the_mci_reference_and_nothing_else_defaults():
    class Rec:
        stage, scheme, recorded_on = "mci", "CDR global score", TODAY

    assert stage_basis(recorded=Rec()).stage == "mci_ad"
    assert stage_basis(recorded=None).stage is None
    for unmapped in ("unimpaired", "severe", "above_mild_range", "something_new"):
        Rec.stage = unmapped
        assert stage_basis(recorded=Rec()).stage is None
    assert stage_basis(chosen="moderate_ad", recorded=None).stage == "moderate_ad"


def test_an_unknown_stage_reads_with_no_band_no_mcid_and_says_why():
    obs = [(TODAY - dt.timedelta(days=400), 2.0), (TODAY, 5.0)]
    r = read_trajectory(measure="CDR-SB", stage=None, observations=obs)
    assert r.category == Category.STAGE_UNKNOWN
    assert r.expected_path == [] and r.lower is None and r.upper is None
    assert r.expected_change is None and r.mcid is None
    assert "stage of the illness is not known" in str(r.text)
    assert r.observed_change == 3.0
    assert "no_measurement_error" not in r.caveat_codes


# --- one patient --------------------------------------------------------------------------


def test_an_mci_patients_trajectory_uses_the_mci_reference(org: Any, rater: Any):
    course = _course(org)
    _stage(course, "mci")
    _cdr_sb(rater, course, 2.5, 3.0)
    outcomes = patient_outcomes(patient=course.patient)
    assert outcomes.stage == "mci_ad"
    r = _reading(course.patient)
    mci = find_reference(measure="CDR-SB", stage="mci_ad", rows=DEFAULT_REFERENCE_ROWS)
    mild = find_reference(measure="CDR-SB", stage="mild_ad", rows=DEFAULT_REFERENCE_ROWS)
    assert r.stage == "mci_ad"
    assert r.expected_change == pytest.approx(mci.annual_change * r.months / 12)
    assert r.expected_change != pytest.approx(mild.annual_change * r.months / 12)
    assert mci.source.split(":")[0] in r.source


def test_a_stage_the_course_schedule_chose_wins_over_the_record(org: Any, rater: Any):
    course = _course(org)
    _stage(course, "mci")
    services.schedule_create(actor=rater, course=course, stage="moderate_ad")
    _cdr_sb(rater, course, 2.5, 3.0)
    outcomes = patient_outcomes(patient=course.patient)
    assert outcomes.stage == "moderate_ad" and outcomes.basis.origin == "course"
    assert "chosen by the doctor" in str(outcomes.basis.explanation)


def test_a_patient_never_staged_gets_no_expected_band(org: Any, rater: Any):
    course = _course(org)
    services.schedule_create(actor=rater, course=course)  # no stage given, none recorded
    _cdr_sb(rater, course, 2.5, 3.0)
    outcomes = patient_outcomes(patient=course.patient)
    assert outcomes.stage is None
    r = _reading(course.patient)
    assert r.category == Category.STAGE_UNKNOWN and r.expected_path == []


def test_a_recorded_stage_without_a_reference_gets_no_band_and_a_reason(org: Any, rater: Any):
    course = _course(org)
    _stage(course, "severe")
    _cdr_sb(rater, course, 2.5, 3.0)
    outcomes = patient_outcomes(patient=course.patient)
    assert outcomes.stage is None
    assert "severe dementia" in str(outcomes.basis.explanation)
    assert _reading(course.patient).category == Category.STAGE_UNKNOWN


def test_the_trajectory_api_answers_the_stage_and_null_when_unknown(
    api_for: Any, org: Any, rater: Any
):
    mci = _course(org)
    _stage(mci, "mci")
    _cdr_sb(rater, mci, 2.5, 3.0)
    unknown = _course(org)
    _cdr_sb(rater, unknown, 2.5, 3.0)
    api = api_for(rater)
    body = api.get(f"/outcomes/patients/{mci.patient.external_id}/trajectories").json()
    cdr = next(t for t in body if t["measure"] == "CDR-SB")
    assert cdr["stage"] == "mci_ad" and cdr["expected_path"]
    assert "pre-screening" in cdr["stage_basis"]
    body = api.get(f"/outcomes/patients/{unknown.patient.external_id}/trajectories").json()
    cdr = next(t for t in body if t["measure"] == "CDR-SB")
    assert cdr["stage"] is None and cdr["category"] == "stage_unknown"
    assert cdr["expected_path"] == [] and cdr["lower"] is None and cdr["upper"] is None
    assert "has not been recorded" in cdr["stage_basis"]


def test_the_patient_page_says_which_stage_or_why_none(web_for: Any, org: Any, rater: Any):
    mci = _course(org)
    _stage(mci, "mci")
    _cdr_sb(rater, mci, 2.5, 3.0)
    html = web_for(rater).get(f"/outcomes/patients/{mci.patient.external_id}/").content.decode()
    assert "Mild cognitive impairment due to Alzheimer" in html
    assert "Stage recorded at the pre-screening" in html
    assert "Mild Alzheimer&#x27;s dementia)" not in html
    unknown = _course(org)
    _cdr_sb(rater, unknown, 2.5, 3.0)
    html = web_for(rater).get(f"/outcomes/patients/{unknown.patient.external_id}/").content.decode()
    assert "The stage of the illness has not been recorded" in html
    assert 'data-category="stage_unknown"' in html
    assert "Range expected without treatment" not in html


def test_the_family_report_says_the_stage_is_unknown_in_both_languages(
    web_for: Any, org: Any, rater: Any, tmp_path: Any
):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    course = _course(org)
    _cdr_sb(rater, course, 2.5, 3.0)
    for lang, expected in (("en", "Not known"), ("ja", "不明")):
        res = web_for(rater).get(
            f"/outcomes/patients/{course.patient.external_id}/report.pdf?lang={lang}"
        )
        assert res.status_code == 200
        pdf = tmp_path / f"r-{lang}.pdf"
        pdf.write_bytes(res.content)
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert expected in text, lang


# --- the physician's choice -----------------------------------------------------------------


def test_only_a_physician_chooses_the_stage_with_a_reason(
    api_for: Any, web_for: Any, org: Any, rater: Any, make_user: Any
):
    course = _course(org)
    schedule = services.schedule_create(actor=rater, course=course)
    url = f"/outcomes/schedules/{schedule.external_id}/stage"
    coordinator = make_user("coordinator", org)
    res = api_for(coordinator).post(url, {"stage": "mci_ad", "reason": "CDR 0.5 at clinic"})
    assert res.status_code == 403
    res = api_for(rater).post(url, {"stage": "mci_ad", "reason": " "})
    assert res.status_code == 422 and res.json()["error"]["code"] == "reason_required"
    res = api_for(rater).post(url, {"stage": "mild", "reason": "x"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "outcomes.unknown_stage"
    res = api_for(rater).post(url, {"stage": "mci_ad", "reason": "CDR global 0.5 at the clinic"})
    assert res.status_code == 200, res.content
    assert res.json()["stage"] == "mci_ad" and "chosen by the doctor" in res.json()["stage_basis"]
    res = web_for(rater).post(
        f"/outcomes/schedules/{schedule.external_id}/stage/", {"stage": "", "reason": "follow"}
    )
    assert res.status_code == 302
    schedule.refresh_from_db()
    assert schedule.stage == ""
    with pytest.raises(Exception):  # noqa: B017 - a coordinator may plan visits, not pick a stage
        services.schedule_create(actor=coordinator, course=_course(org), stage="mild_ad")


# --- the cohort -------------------------------------------------------------------------------


def test_the_cohort_reference_is_built_from_its_patients_stages():
    rows = DEFAULT_REFERENCE_ROWS
    stage, row, warn = cohort_reference(measure="CDR-SB", stage_counts=Counter(), rows=rows)
    assert (stage, row, warn) == (None, None, [])
    stage, row, warn = cohort_reference(
        measure="CDR-SB", stage_counts=Counter({"mci_ad": 3}), rows=rows
    )
    assert stage == "mci_ad" and row.annual_change == 0.5 and warn == []
    stage, row, warn = cohort_reference(
        measure="CDR-SB", stage_counts=Counter({"mci_ad": 1, "mild_ad": 3}), rows=rows
    )
    assert stage is None and warn == ["mixed_stages"]
    assert row.annual_change == pytest.approx((0.5 + 3 * 1.5) / 4)
    stage, row, warn = cohort_reference(
        measure="CDR-SB", stage_counts=Counter({"mild_ad": 5, "": 1}), rows=rows
    )
    assert row is None and warn == ["stage_unknown"]
    stage, row, warn = cohort_reference(
        measure="CDR-SB", stage_counts=Counter({"early_ad": 2}), rows=()
    )
    assert row is None and warn == ["no_reference_for_stage"]


def test_a_cohort_with_an_unstaged_patient_is_not_compared_and_says_why(
    api_for: Any, web_for: Any, org: Any, rater: Any
):
    staged = _course(org)
    _stage(staged, "mci")
    _cdr_sb(rater, staged, 2.5, 3.0)
    unstaged = _course(org, plan=staged.plan)
    _cdr_sb(rater, unstaged, 2.5, 3.0)
    c = cohort(plan=staged.plan, measure="CDR-SB", today=TODAY)
    assert c.stage is None and c.fit.reference_annual_change is None
    assert "stage_unknown" in c.fit.warnings and c.stage_counts == {"mci_ad": 1, "": 1}
    body = api_for(rater).get(f"/outcomes/cohorts/{staged.plan.external_id}", measure="CDR-SB")
    assert body.json()["stage"] is None and body.json()["stage_counts"] == {"mci_ad": 1, "": 1}
    html = web_for(rater).get(f"/outcomes/cohorts/{staged.plan.external_id}/").content.decode()
    assert "not recorded for some patients" in html and "stage not recorded: 1" in html


def test_an_all_mci_cohort_is_compared_with_mci(org: Any, rater: Any):
    first = _course(org)
    _stage(first, "mci")
    _cdr_sb(rater, first, 2.5, 3.0)
    second = _course(org, plan=first.plan)
    _stage(second, "mci")
    _cdr_sb(rater, second, 2.0, 3.0)
    c = cohort(plan=first.plan, measure="CDR-SB", today=TODAY)
    assert c.stage == "mci_ad" and c.fit.reference_annual_change == 0.5


def test_the_cohort_page_query_count_does_not_grow_with_patients(
    web_for: Any, org: Any, rater: Any, django_assert_max_num_queries: Any
):
    base = _course(org)
    _stage(base, "mild")
    _cdr_sb(rater, base, 2.5, 3.0)
    client = web_for(rater)
    url = f"/outcomes/cohorts/{base.plan.external_id}/"
    client.get(url)  # a small cohort's summary is computed on the request and stored
    _cdr_sb(rater, base, 2.0, 3.0)  # any write through a service
    with CaptureQueriesContext(connection) as one:
        client.get(url)  # computed again: records were written
    for _ in range(4):
        course = _course(org, plan=base.plan)
        _stage(course, "mci")
        _cdr_sb(rater, course, 2.5, 3.0)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url).status_code == 200  # and again, with five patients
    assert len(five) == len(one)
    with django_assert_max_num_queries(13):  # nothing written since: the stored summary is read
        assert client.get(url).status_code == 200


# --- the data migration for existing schedules ---------------------------------------------


def _migration() -> Any:
    return importlib.import_module(
        "saisei.outcomes.migrations.0004_schedules_stop_defaulting_to_mild"
    )


def test_the_migration_clears_the_mild_default_and_keeps_explicit_choices(org: Any, rater: Any):
    from saisei.outcomes.models import AssessmentSchedule

    defaulted_mci = _course(org)
    _stage(defaulted_mci, "mci")
    never_staged = _course(org)
    explicit = _course(org)
    _stage(explicit, "mci")
    rows = {
        defaulted_mci.pk: "mild_ad",  # the old default, contradicted by the record
        never_staged.pk: "mild_ad",  # the old default, with nothing recorded
        explicit.pk: "moderate_ad",  # a physician's explicit choice
    }
    for course_id, stage in rows.items():
        course = next(c for c in (defaulted_mci, never_staged, explicit) if c.pk == course_id)
        schedule = services.schedule_create(actor=rater, course=course)
        AssessmentSchedule.objects.filter(pk=schedule.pk).update(stage=stage)
    _migration().forwards(apps, None)
    stages = dict(AssessmentSchedule.objects.values_list("course_id", "stage"))
    assert stages == {defaulted_mci.pk: "", never_staged.pk: "", explicit.pk: "moderate_ad"}
    assert patient_outcomes(patient=defaulted_mci.patient).stage == "mci_ad"
    assert patient_outcomes(patient=never_staged.patient).stage is None
    _migration().forwards(apps, None)
    assert dict(AssessmentSchedule.objects.values_list("course_id", "stage")) == stages
