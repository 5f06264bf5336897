"""Outcome screens: worklists, assessment entry, the patient's outcomes, the plan's cohort, documents."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import select_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from saisei.core.access_log import WEB, access_log_record
from saisei.core.db_router import replica_reads
from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.core.views import render_form_error
from saisei.outcomes import analysis, forms, reports, selectors, services
from saisei.outcomes import permissions as perms
from saisei.outcomes.instruments import INSTRUMENTS, LicenceStatus, get_instrument, measure_info
from saisei.outcomes.plots import cohort_png, tr, trajectory_png
from saisei.outcomes.reference import STAGES

_user = staff_user  # the signed-in staff user (login is required)


LANGS = ("en", "ja")


def _web(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show another organisation's or an unknown object as 404 and a missing role as 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except Forbidden:
            raise PermissionDenied from None

    return wrapper


def _require_view(request: HttpRequest) -> None:
    if not perms.can_view_outcomes(request.user):
        raise Forbidden()


def _patient(request: HttpRequest, external_id: Any) -> Any:
    from saisei.journey.selectors import patients_of_organisation

    _require_view(request)
    user = _user(request)
    return get_scoped(perms.scope_outcomes(user, patients_of_organisation(actor=user)), external_id)


def _plan(request: HttpRequest, external_id: Any) -> Any:
    from saisei.regulatory.selectors import plans_of_organisation

    if not perms.can_view_cohort(request.user):
        raise Forbidden()
    user = _user(request)
    return get_scoped(perms.scope_outcomes(user, plans_of_organisation(actor=user)), external_id)


def _lang(request: HttpRequest) -> str:
    """The asked-for language when the service offers it (a family's own: ja, zh-hans, …), else
    the page's, else English."""
    offered = [code for code, _name in settings.LANGUAGES]
    for lang in (request.GET.get("lang"), translation.get_language()):
        code = (lang or "").lower()
        if code in offered:
            return code
        if code.split("-")[0] in offered:
            return code.split("-")[0]
    return "en"


WORKLIST_ROWS = 100


@login_required
@_web
def index(request: HttpRequest) -> HttpResponse:
    """Due and overdue outcome visits, as worklists of the first WORKLIST_ROWS each (soonest
    due first): a national network has thousands, and a list that long is not worked from."""
    _require_view(request)
    today = timezone.localdate()
    actor = _user(request)
    overdue = selectors.visits_overdue(actor=actor, today=today, limit=WORKLIST_ROWS + 1)
    due = selectors.visits_due(actor=actor, today=today, limit=WORKLIST_ROWS + 1)
    return render(
        request,
        "outcomes/index.html",
        {
            "overdue": overdue[:WORKLIST_ROWS],
            "overdue_more": len(overdue) > WORKLIST_ROWS,
            "due": due[:WORKLIST_ROWS],
            "due_more": len(due) > WORKLIST_ROWS,
            "rows": WORKLIST_ROWS,
            "today": today,
        },
    )


@login_required
@_web
def patient_page(request: HttpRequest, external_id: Any) -> HttpResponse:
    patient = _patient(request, external_id)
    access_log_record(
        actor=_user(request),
        channel=WEB,
        subject_type="outcomes.patient",
        subject_id=patient.external_id,
        patient=patient,
        label="outcomes",
    )
    outcomes = analysis.patient_outcomes(patient=patient)
    today = timezone.localdate()
    schedules = list(selectors.patient_schedules(actor=_user(request), patient=patient))
    visits = [(v, selectors.is_overdue(v, today=today)) for s in schedules for v in s.visits.all()]
    from saisei.journey.selectors import courses_of_organisation

    unscheduled = courses_of_organisation(actor=_user(request)).filter(
        patient=patient, voided_at__isnull=True, assessment_schedule__isnull=True
    )
    return render(
        request,
        "outcomes/patient.html",
        {
            "patient": patient,
            "outcomes": outcomes,
            "basis": outcomes.basis,
            "stage_label": STAGES[outcomes.stage] if outcomes.stage else "",
            "stages": list(STAGES.items()),
            "can_choose_stage": perms.can_choose_stage(request.user),
            "assessments": selectors.assessment_list(
                actor=_user(request),
                patient=patient,
                include_voided=True,
            ),
            "biomarkers": selectors.biomarker_result_list(actor=_user(request), patient=patient),
            "visits": visits,
            "schedules": schedules,
            "unscheduled": unscheduled,
            "instruments": list(INSTRUMENTS.values()),
            "can_record": perms.can_record_assessment(request.user),
            "can_void": perms.can_void_assessment(request.user),
            "can_schedule": perms.can_manage_schedule(request.user),
            "void_form": forms.VoidForm(),
        },
    )


@login_required
@_web
def trajectory_image(request: HttpRequest, external_id: Any, measure: str) -> HttpResponse:
    patient = _patient(request, external_id)
    outcomes = analysis.patient_outcomes(patient=patient)
    traj = next((t for t in outcomes.trajectories if t.measure == measure), None)
    if traj is None:
        raise Http404
    png = trajectory_png(
        reading=traj.reading, observations=traj.observations, language=_lang(request)
    )
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@_web
def assessment_new(request: HttpRequest, external_id: Any) -> HttpResponse:
    """Keyboard-first entry: the first field has focus, ranges are shown and checked in the browser,
    and the service's per-field refusals appear next to their fields."""
    patient = _patient(request, external_id)
    if not perms.can_record_assessment(request.user):
        raise Forbidden()
    code = request.GET.get("instrument") or request.POST.get("instrument") or "MMSE"
    try:
        instrument = get_instrument(code)
    except DomainError:
        raise Http404 from None
    visit = None
    visit_id = request.GET.get("visit") or request.POST.get("visit")
    if visit_id:
        visit = selectors.visit_get(actor=_user(request), external_id=visit_id)
    context = {
        "patient": patient,
        "instrument": instrument,
        "instruments": list(INSTRUMENTS.values()),
        "visit": visit,
        "licensed": instrument.licence != LicenceStatus.FREE,
    }
    if request.method == "POST":
        form = forms.AssessmentForm(request.POST, instrument=instrument)
        if form.is_valid():
            try:
                services.assessment_record(
                    actor=_user(request),
                    patient=patient,
                    instrument=instrument.code,
                    values=form.values(),
                    assessed_on=form.cleaned_data["assessed_on"],
                    visit=visit,
                    mode=form.cleaned_data["mode"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                return render_form_error(
                    request, "outcomes/assessment_form.html", context, exc, form
                )
            messages.success(request, _("Assessment saved."))
            return redirect("outcomes:patient", external_id=patient.external_id)
    else:
        form = forms.AssessmentForm(instrument=instrument)
    return render(request, "outcomes/assessment_form.html", {**context, "form": form})


@login_required
@require_POST
@_web
def assessment_void(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    a = selectors.assessment_get(actor=_user(request), external_id=external_id)
    form = forms.VoidForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        services.assessment_void(actor=_user(request), assessment=a, reason=reason)
        messages.success(request, _("Assessment voided; it stays in the record."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("outcomes:patient", external_id=a.patient.external_id)


@login_required
@require_POST
@_web
def visit_missed(request: HttpRequest, external_id: Any) -> HttpResponse:
    _require_view(request)
    v = selectors.visit_get(actor=_user(request), external_id=external_id)
    try:
        services.visit_mark_missed(
            actor=_user(request), visit=v, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Visit marked as missed."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("outcomes:patient", external_id=v.patient.external_id)


@login_required
@require_POST
@_web
def schedule_create(request: HttpRequest, external_id: Any) -> HttpResponse:
    from saisei.journey.selectors import courses_of_organisation

    _require_view(request)
    user = _user(request)
    course = get_scoped(
        perms.scope_outcomes(user, courses_of_organisation(actor=user)), external_id
    )
    try:
        services.schedule_create(
            actor=_user(request), course=course, stage=request.POST.get("stage") or None
        )
        messages.success(request, _("Assessment schedule created."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("outcomes:patient", external_id=course.patient.external_id)


@login_required
@require_POST
@_web
def schedule_end(request: HttpRequest, external_id: Any) -> HttpResponse:
    s = selectors.schedule_get(actor=_user(request), external_id=external_id)
    try:
        services.schedule_end_follow_up(
            actor=_user(request),
            schedule=s,
            ended_on=timezone.localdate(),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("Follow-up ended"))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("outcomes:patient", external_id=s.patient.external_id)


@login_required
@require_POST
@_web
def schedule_stage(request: HttpRequest, external_id: Any) -> HttpResponse:
    """The physician chooses the natural history for a course, or lets it follow the record."""
    s = selectors.schedule_get(actor=_user(request), external_id=external_id)
    try:
        services.schedule_stage_set(
            actor=_user(request),
            schedule=s,
            stage=request.POST.get("stage", ""),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("Stage used for the expected course saved."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("outcomes:patient", external_id=s.patient.external_id)


@login_required
@_web
def biomarker_new(request: HttpRequest, external_id: Any) -> HttpResponse:
    patient = _patient(request, external_id)
    if not perms.can_record_biomarker(request.user):
        raise Forbidden()
    definitions = list(selectors.biomarker_definition_list(actor=_user(request)))
    context = {"patient": patient, "definitions": definitions}
    form = forms.BiomarkerForm(request.POST or None, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        definition = next(
            d for d in definitions if str(d.external_id) == form.cleaned_data["definition"]
        )
        try:
            services.biomarker_record(
                actor=_user(request),
                patient=patient,
                definition=definition,
                value=form.cleaned_data["value"],
                collected_on=form.cleaned_data["collected_on"],
                lab=form.cleaned_data["lab"],
                assay=form.cleaned_data["assay"],
            )
        except DomainError as exc:
            return render_form_error(request, "outcomes/biomarker_form.html", context, exc, form)
        messages.success(request, _("Result saved."))
        return redirect("outcomes:patient", external_id=patient.external_id)
    return render(request, "outcomes/biomarker_form.html", {**context, "form": form})


@login_required
@_web
def family_report(request: HttpRequest, external_id: Any) -> HttpResponse:
    patient = _patient(request, external_id)
    lang = _lang(request)
    access_log_record(
        actor=_user(request),
        channel=WEB,
        subject_type="outcomes.family_report_pdf",
        subject_id=patient.external_id,
        patient=patient,
        label=f"outcomes report PDF ({lang})",
    )
    pdf = reports.family_report_pdf(
        outcomes=analysis.patient_outcomes(patient=patient),
        language=lang,
        clinic_name=request.user.organisation.name,  # type: ignore[union-attr]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="outcomes-{patient.patient_code}-{lang}.pdf"'
    )
    return response


# --- cohort ---------------------------------------------------------------------------------


@login_required
@_web
def cohort_index(request: HttpRequest) -> HttpResponse:
    from saisei.regulatory.selectors import plans_of_organisation

    if not perms.can_view_cohort(request.user):
        raise Forbidden()
    user = _user(request)
    plans = perms.scope_outcomes(
        user, plans_of_organisation(actor=user).filter(voided_at__isnull=True)
    )
    return render(request, "outcomes/cohort_index.html", {"plans": plans})


COHORT_PAGE_SIZE = 50
"""Patients per page of the cohort page's table."""


def _measure(request: HttpRequest) -> str:
    measure = request.GET.get("measure") or "CDR-SB"
    if measure not in analysis.COHORT_MEASURES:
        raise Http404
    return measure


@login_required
@_web
def cohort_page(request: HttpRequest, external_id: Any) -> HttpResponse:
    from saisei.journey.selectors import course_rows_on_plan

    plan = _plan(request, external_id)
    measure = _measure(request)
    c = services.cohort_summary_read(plan=plan, measure=measure)
    # The patients table is paged and read now: the summary above it covers everyone. The page
    # is found on the index's keys alone and only its rows are joined (a deferred join: an
    # offset into a hundred thousand courses otherwise joins every row it skips).
    courses = course_rows_on_plan(plan_id=plan.pk)
    page = BoundedPaginator(courses.values_list("id", flat=True), COHORT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    patients = analysis.cohort_patients(
        list(courses.filter(id__in=list(page.object_list))),
        plan_id=plan.pk,
        measure=measure,
        cutoff=timezone.localdate(),
    )
    return render(
        request,
        "outcomes/cohort.html",
        {
            "plan": plan,
            "cohort": c,
            "page": page,
            "patients": patients,
            "measure": measure,
            "measure_name": measure_info(measure).instrument.name,
            "measures": analysis.COHORT_MEASURES,
            "stage_label": STAGES[c.stage] if c.stage else "",
            "stage_counts": [
                (STAGES[st] if st else _("stage not recorded"), n)
                for st, n in sorted(c.stage_counts.items())
            ],
            "stage_notes": [
                analysis.COHORT_STAGE_NOTES[w]
                for w in c.fit.warnings
                if w in analysis.COHORT_STAGE_NOTES
            ],
            "completeness_pct": round(c.completeness * 100) if c.completeness is not None else None,
        },
    )


@login_required
@_web
def cohort_image(request: HttpRequest, external_id: Any) -> HttpResponse:
    plan = _plan(request, external_id)
    measure = _measure(request)
    c = services.cohort_summary_read(plan=plan, measure=measure)
    png = cohort_png(measure=measure, rows=c.plot_rows, fit=c.fit, language=_lang(request))
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@_web
def cohort_csv(request: HttpRequest, external_id: Any) -> HttpResponse:
    plan = _plan(request, external_id)
    today = timezone.localdate()
    with replica_reads():  # an export: from the read replica when one is configured
        cohorts = [
            analysis.cohort(plan=plan, measure=m, today=today) for m in analysis.COHORT_MEASURES
        ]
    # An export of many patients' scores: one entry for the export, not one per patient.
    access_log_record(
        actor=_user(request),
        channel=WEB,
        subject_type="outcomes.cohort_csv",
        subject_id=plan.external_id,
        label=f"cohort export CSV, plan {plan.plan_number}"[:200],
    )
    response = HttpResponse(
        reports.cohort_csv(cohorts=cohorts), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="outcomes-cohort-{plan.pk}.csv"'
    return response


@login_required
@_web
def clinic_report(request: HttpRequest, external_id: Any) -> HttpResponse:
    plan = _plan(request, external_id)
    today = timezone.localdate()
    cohorts = [analysis.cohort(plan=plan, measure=m, today=today) for m in analysis.COHORT_MEASURES]
    pdf = reports.clinic_report_pdf(
        cohorts=cohorts,
        language=_lang(request),
        clinic_name=request.user.organisation.name,  # type: ignore[union-attr]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="outcomes-cohort-{plan.pk}.pdf"'
    return response


# --- clinic configuration: references and rater credentials ----------------------------------


@login_required
@_web
def references_page(request: HttpRequest) -> HttpResponse:
    """The clinic's natural-history table, MCIDs and measurement noise, each row with its source."""
    _require_view(request)
    user = _user(request)
    can_edit = perms.can_manage_references(user)
    if request.method == "POST":
        if not can_edit:
            raise Forbidden()
        created = services.references_seed_defaults(actor=user, organisation=user.organisation)  # type: ignore[arg-type]
        messages.success(request, _("%(n)s default rows loaded.") % {"n": created})
        return redirect("outcomes:references")
    return render(
        request,
        "outcomes/references.html",
        {
            "references": selectors.reference_list(actor=user),
            "mcids": selectors.mcid_list(actor=user),
            "sems": selectors.sem_list(actor=user),
            "biomarkers": selectors.biomarker_definition_list(actor=user),
            "can_edit": can_edit,
        },
    )


@login_required
@_web
def reference_edit(request: HttpRequest, external_id: Any) -> HttpResponse:
    user = _user(request)
    if not perms.can_manage_references(user):
        raise Forbidden()
    row = get_scoped(selectors.reference_list(actor=user), external_id)
    context = {"row": row}
    if request.method == "POST":
        form = forms.ReferenceForm(request.POST)
        if form.is_valid():
            try:
                services.reference_update(actor=user, row=row, **form.cleaned_data)
            except DomainError as exc:
                return render_form_error(
                    request, "outcomes/reference_form.html", context, exc, form
                )
            messages.success(request, _("Reference saved."))
            return redirect("outcomes:references")
    else:
        form = forms.ReferenceForm(
            initial={
                "annual_change": row.annual_change,
                "sd": row.sd,
                "source": row.source,
                "note": row.note,
                "uncertain": row.uncertain,
                "is_active": row.is_active,
            }
        )
    return render(request, "outcomes/reference_form.html", {**context, "form": form})


@login_required
@_web
def credentials_page(request: HttpRequest) -> HttpResponse:
    """Who may enter which licensed instrument, under which licence or certification, until when."""
    from saisei.core.models import User as StaffUser
    from saisei.outcomes.permissions import RATERS

    user = _user(request)
    _require_view(request)
    raters = list(
        StaffUser.objects.filter(
            organisation=user.organisation, role_grants__role__in=RATERS, is_active=True
        ).distinct()
    )
    licensed = [i for i in INSTRUMENTS.values() if i.requires_rater_credential]
    form = forms.CredentialForm(request.POST or None, users=raters, instruments=licensed)
    context = {
        "credentials": selectors.credential_list(actor=user),
        "can_edit": perms.can_manage_credentials(user),
        "today": timezone.localdate(),
    }
    if request.method == "POST":
        if not perms.can_manage_credentials(user):
            raise Forbidden()
        if form.is_valid():
            data = dict(form.cleaned_data)
            rater = next(u for u in raters if str(u.pk) == data.pop("user"))
            try:
                services.credential_record(actor=user, user=rater, **data)
            except DomainError as exc:
                return render_form_error(request, "outcomes/credentials.html", context, exc, form)
            messages.success(request, _("Credential recorded."))
            return redirect("outcomes:credentials")
    return render(request, "outcomes/credentials.html", {**context, "form": form})


# --- portal (caregiver diary) -----------------------------------------------------------------


PORTAL_TEXT: dict[str, Any] = {
    "title": gettext_lazy("Caregiver diary"),
    "not_validated": gettext_lazy(
        "This diary is the clinic's own list of questions. It is not a validated measure, and "
        "better sleep, calmer behaviour or recognising family have not been shown to follow "
        "stem-cell treatment in controlled trials. Your answers help the doctor follow how "
        "things are going."
    ),
    "saved": gettext_lazy("Thank you. Your answers have been saved."),
    "intro": gettext_lazy(
        "Think about the past week. For each question, choose the answer that fits best."
    ),
    "send": gettext_lazy("Send answers"),
}


def _portal_base() -> Any:
    return select_template(["journey/portal_base.html", "base.html"])


def portal_diary(request: HttpRequest) -> HttpResponse:
    """The family fills in the clinic's diary in their language; it is labelled as not validated."""
    from saisei.journey.portal import portal_patient

    patient = portal_patient(request)
    if patient is None:
        return redirect(reverse("journey:portal_home"))
    instrument = get_instrument("DIARY")
    language = patient.language if patient.language in LANGS else "en"
    if request.GET.get("lang") in LANGS:
        language = request.GET["lang"]
    with translation.override(language):
        form = forms.DiaryForm(request.POST or None, instrument=instrument, language=language)
        context = {
            "texts": {k: tr(v, language) for k, v in PORTAL_TEXT.items()},
            "base_template": _portal_base(),
            "form": form,
            "patient": patient,
            "language": language,
        }
        if request.method == "POST" and form.is_valid():
            try:
                services.diary_submit(
                    patient=patient,
                    values=form.values(),
                    answered_by=form.cleaned_data["answered_by"],
                    language=language,
                )
            except DomainError as exc:
                return render_form_error(request, "outcomes/portal_diary.html", context, exc, form)
            return render(request, "outcomes/portal_diary.html", {**context, "saved": True})
        return render(request, "outcomes/portal_diary.html", context)
