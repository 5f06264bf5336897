"""processing API: scan parsing, expansion forecast, lots, doses, release, custody, labels, deviations.

Paths carry their own prefix (the router is mounted at /api/v1/). Input and output schemas are
separate per operation; refusals are DomainErrors mapped to the one error shape by core.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from saisei.core.api_support import ERROR_RESPONSES, Page, paginate
from saisei.core.errors import Forbidden, NotFound
from saisei.core.permissions import can_use_calculators, scope_to_org, staff_user
from saisei.core.selectors import get_scoped
from saisei.processing import permissions, selectors, services
from saisei.processing.models import Release

router = Router(tags=["processing"])


_user = staff_user  # the signed-in staff user (login is required)


# A scan is at most a few compound Data Matrix messages; anything longer is not a scan.
MAX_SCAN_LENGTH = 2000


# --- scans ---------------------------------------------------------------------------------------


class ScanIn(Schema):
    data: str = Field(..., max_length=MAX_SCAN_LENGTH)


class ScanIssueOut(Schema):
    code: str
    message: str
    severity: str


class ScanStructureOut(Schema):
    type: str
    fields: dict[str, Any]
    check_character: str | None
    valid: bool
    errors: list[dict[str, Any]]


class ScanOut(Schema):
    valid: bool
    structures: list[ScanStructureOut]


@router.post("/scans/parse", response={200: ScanOut, **ERROR_RESPONSES})
def scan_parse(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    """Read what a keyboard-wedge scanner typed into the ISBT 128 structures it contains."""
    from saisei.processing.isbt128 import parse_scan

    if not can_use_calculators(_user(request)):
        raise Forbidden()
    return parse_scan(payload.data).as_dict()


# --- expansion forecast --------------------------------------------------------------------------


class CountIn(Schema):
    date: dt.date
    passage: int
    cells: float
    area_cm2: float | None = None


class ForecastIn(Schema):
    tissue_g: float
    target_cells: float
    start_date: dt.date
    parameters: dict[str, Any] = {}
    actual_counts: list[CountIn] = []


class ForecastWarningOut(Schema):
    code: str
    severity: str
    message: str
    field: str | None = None


class ForecastOut(Schema):
    earliest: dt.date
    likely: dt.date
    latest: dt.date
    passages: int
    culture_area_cm2: float
    warnings: list[ForecastWarningOut]
    feasible: bool
    based_on_observations: bool
    observed_doubling_time_days: float | None
    plan: list[dict[str, Any]]
    scenarios: dict[str, Any]
    explanation: list[str]
    parameters: dict[str, Any]


@router.post("/processing/expansion-forecast", response={200: ForecastOut, **ERROR_RESPONSES})
def expansion_forecast(request: HttpRequest, payload: ForecastIn) -> dict[str, Any]:
    """Forecast when a culture reaches its target; a calculation that changes nothing."""
    from saisei.processing.expansion import forecast

    if not can_use_calculators(_user(request)):
        raise Forbidden()
    result = forecast(
        tissue_g=payload.tissue_g,
        target_cells=payload.target_cells,
        start_date=payload.start_date,
        parameters=payload.parameters or None,
        actual_counts=[c.dict() for c in payload.actual_counts] or None,
    )
    return result.as_dict()


# --- shared lookups ------------------------------------------------------------------------------


def _patient(actor: Any, external_id: Any) -> Any:
    from saisei.journey.models import Patient

    return get_scoped(scope_to_org(actor, Patient.objects.all()), external_id)


def _site(actor: Any, external_id: Any) -> Any:
    from saisei.core.models import Site

    return get_scoped(scope_to_org(actor, Site.objects.all()), external_id)


def _plan(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.models import ProvisionPlan

    return get_scoped(scope_to_org(actor, ProvisionPlan.objects.all()), external_id)


def _physician(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.models import Physician

    return get_scoped(scope_to_org(actor, Physician.objects.all()), external_id)


def _facility(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.models import ProcessingFacility

    return get_scoped(scope_to_org(actor, ProcessingFacility.objects.all()), external_id)


def _course(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.journey.models import TreatmentCourse

    return get_scoped(
        scope_to_org(actor, TreatmentCourse.objects.filter(voided_at__isnull=True)), external_id
    )


def _require_view(actor: Any) -> None:
    if not permissions.can_view_processing(actor):
        raise Forbidden()


# --- donations -----------------------------------------------------------------------------------


class DonationIn(Schema):
    """A harvest for one treatment course, whose plan it runs under (a stated plan must be the
    course's). The compliance gate checks that plan, the performing physician, facility, cell
    source and the patient's diagnosis; anything left out is refused with the gate's rule (422)."""

    patient: uuid.UUID
    course: uuid.UUID | None = Field(
        None, description="the treatment course the harvest is for (required; 422 without it)"
    )
    site: uuid.UUID
    plan: uuid.UUID | None = None
    physician: uuid.UUID | None = Field(None, description="The physician who performs the harvest")
    facility: uuid.UUID | None = Field(None, description="The cell processing facility")
    cell_source: Literal["autologous", "allogeneic", "xenogeneic"] | None = None
    harvest_site: str = Field(..., max_length=100)
    tissue_weight_g: float
    container: str = Field(..., max_length=200)
    collected_at: dt.datetime | None = None
    transport_conditions: str = Field("", max_length=300)
    infection_markers: dict[str, str] = {}
    notes: str = ""


class MarkersIn(Schema):
    results: dict[str, str]


class DonationOut(Schema):
    external_id: uuid.UUID
    din: str
    din_flags: str
    coi: str
    course: uuid.UUID | None
    patient: uuid.UUID
    patient_code: str
    harvest_site: str
    tissue_weight_g: float
    collected_at: dt.datetime
    container: str
    transport_conditions: str
    infection_markers: dict[str, str]
    markers_missing: list[str]
    plan: uuid.UUID | None
    physician: uuid.UUID | None
    facility: uuid.UUID | None
    cell_source: str

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_plan(obj: Any) -> uuid.UUID | None:
        return obj.plan.external_id if obj.plan_id else None

    @staticmethod
    def resolve_physician(obj: Any) -> uuid.UUID | None:
        return obj.physician.external_id if obj.physician_id else None

    @staticmethod
    def resolve_facility(obj: Any) -> uuid.UUID | None:
        return obj.facility.external_id if obj.facility_id else None

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.patient.patient_code

    @staticmethod
    def resolve_course(obj: Any) -> uuid.UUID | None:
        return obj.course.external_id if obj.course_id else None

    @staticmethod
    def resolve_markers_missing(obj: Any) -> list[str]:
        status = services.markers_status(donation=obj)
        return status["missing"] + status["pending"]


@router.post("/processing/donations", response={201: DonationOut, **ERROR_RESPONSES})
def donation_create(request: HttpRequest, payload: DonationIn) -> Status:
    actor = _user(request)
    donation = services.donation_record(
        actor=actor,
        patient=_patient(actor, payload.patient),
        course=_course(actor, payload.course),
        site=_site(actor, payload.site),
        plan=_plan(actor, payload.plan),
        physician=_physician(actor, payload.physician),
        facility=_facility(actor, payload.facility),
        cell_source=payload.cell_source or "",
        harvest_site=payload.harvest_site,
        tissue_weight_g=payload.tissue_weight_g,
        container=payload.container,
        collected_at=payload.collected_at,
        transport_conditions=payload.transport_conditions,
        infection_markers=payload.infection_markers,
        notes=payload.notes,
    )
    return Status(201, donation)


@router.get("/processing/donations/{external_id}", response={200: DonationOut, **ERROR_RESPONSES})
def donation_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.donation_get(actor=_user(request), external_id=external_id)


class CourseBindIn(Schema):
    course: uuid.UUID
    reason: str = Field(..., max_length=1000)


@router.post(
    "/processing/donations/{external_id}/course",
    response={200: DonationOut, **ERROR_RESPONSES},
    summary="Bind a harvest recorded before course binding to its treatment course (QA)",
)
def donation_course_bind(request: HttpRequest, external_id: str, payload: CourseBindIn) -> Any:
    actor = _user(request)
    donation = selectors.donation_get(actor=actor, external_id=external_id)
    course = _course(actor, payload.course)
    return services.donation_course_bind(
        actor=actor, donation=donation, course=course, reason=payload.reason
    )


@router.post(
    "/processing/donations/{external_id}/markers", response={200: DonationOut, **ERROR_RESPONSES}
)
def donation_markers(request: HttpRequest, external_id: str, payload: MarkersIn) -> Any:
    donation = selectors.donation_get(actor=_user(request), external_id=external_id)
    return services.donation_markers_record(
        actor=_user(request), donation=donation, results=payload.results
    )


# --- lots ------------------------------------------------------------------------------------------


class LotIn(Schema):
    donation: uuid.UUID
    planned_doses: int = Field(..., ge=1, le=26)
    cells_per_dose: float = Field(..., gt=0)
    route: str = "iv"
    dose_volume_ml: float | None = Field(None, gt=0)
    allow_conditional_release: bool = False
    started_on: dt.date | None = None
    patient_weight_kg: float | None = Field(None, gt=0)


class LotOut(Schema):
    external_id: uuid.UUID
    number: str
    status: str
    status_label: str
    din: str
    patient_code: str
    route: str
    planned_doses: int
    cells_per_dose: float
    started_on: dt.date
    due_on: dt.date | None
    open_deviations: int = 0

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_din(obj: Any) -> str:
        return obj.donation.din

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.donation.patient.patient_code

    @staticmethod
    def resolve_open_deviations(obj: Any) -> int:
        return int(getattr(obj, "open_deviations", 0) or 0)


class StepIn(Schema):
    kind: str
    performed_at: dt.datetime | None = None
    passage_number: int = Field(0, ge=0, le=50)
    cell_count: float | None = Field(None, ge=0)
    viability_pct: float | None = Field(None, ge=0, le=100)
    population_doublings: float | None = Field(None, ge=0)
    vessel_type: str = Field("", max_length=50)
    vessel_count: int = Field(0, ge=0, le=1000)
    area_cm2: float | None = Field(None, ge=0)
    media_lot: str = Field("", max_length=100)
    reagent_lots: str = Field("", max_length=300)
    notes: str = ""


class StepOut(Schema):
    external_id: uuid.UUID
    kind: str
    passage_number: int
    performed_at: dt.datetime
    cell_count: float | None
    viability_pct: float | None
    population_doublings: float | None
    vessel_type: str
    vessel_count: int
    area_cm2: float | None
    media_lot: str
    reagent_lots: str


class QCIn(Schema):
    test_code: str = Field(..., max_length=50)
    value: str | float | None = None
    pending: bool = False
    tested_at: dt.datetime | None = None
    method: str = Field("", max_length=200)
    organism: str = Field("", max_length=200)


class QCOut(Schema):
    external_id: uuid.UUID
    test_code: str
    value: str
    outcome: str
    limit_text: str
    tested_at: dt.datetime
    deviation: str | None

    @staticmethod
    def resolve_deviation(obj: Any) -> str | None:
        return obj.deviation.number if obj.deviation_id else None


class DeviationOut(Schema):
    external_id: uuid.UUID
    number: str
    lot: str | None
    source: str
    severity: str
    title: str
    description: str
    status: str
    opened_at: dt.datetime
    investigation: str
    impact: str
    capa: str
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_lot(obj: Any) -> str | None:
        return obj.lot.number if obj.lot_id else None


class ReleaseOut(Schema):
    external_id: uuid.UUID
    lot: str
    kind: str
    signed_by: str
    signed_at: dt.datetime
    meaning: str
    justification: str
    sterility_confirmed_at: dt.datetime | None

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_signed_by(obj: Any) -> str:
        return obj.signed_by.username


class LotDetailOut(LotOut):
    donation: uuid.UUID
    forecast: dict[str, Any]
    readiness: dict[str, Any]
    steps: list[StepOut]
    qc_results: list[QCOut]
    deviations: list[DeviationOut]
    release: ReleaseOut | None

    @staticmethod
    def resolve_donation(obj: Any) -> uuid.UUID:
        return obj.donation.external_id

    @staticmethod
    def resolve_readiness(obj: Any) -> dict[str, Any]:
        return services.lot_readiness(lot=obj).as_dict()

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return list(obj.steps.filter(voided_at__isnull=True))

    @staticmethod
    def resolve_qc_results(obj: Any) -> list[Any]:
        return list(obj.qc_results.filter(voided_at__isnull=True).select_related("deviation"))

    @staticmethod
    def resolve_deviations(obj: Any) -> list[Any]:
        return list(obj.deviations.filter(voided_at__isnull=True).select_related("lot"))

    @staticmethod
    def resolve_release(obj: Any) -> Any:
        return Release.objects.filter(lot=obj).select_related("lot", "signed_by").first()


class LotFilter(Schema):
    status: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/processing/lots", response={200: Page[LotOut], **ERROR_RESPONSES})
def lot_list(request: HttpRequest, filters: Query[LotFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.lot_list(actor=_user(request), status=filters.status)
    return paginate(qs, limit=filters.limit, offset=filters.offset)


@router.post("/processing/lots", response={201: LotOut, **ERROR_RESPONSES})
def lot_create(request: HttpRequest, payload: LotIn) -> Status:
    donation = selectors.donation_get(actor=_user(request), external_id=payload.donation)
    lot = services.lot_create(
        actor=_user(request),
        donation=donation,
        planned_doses=payload.planned_doses,
        cells_per_dose=payload.cells_per_dose,
        route=payload.route,
        dose_volume_ml=payload.dose_volume_ml,
        allow_conditional_release=payload.allow_conditional_release,
        started_on=payload.started_on,
        patient_weight_kg=payload.patient_weight_kg,
    )
    return Status(201, selectors.lot_get(actor=_user(request), external_id=lot.external_id))


@router.get("/processing/lots/{external_id}", response={200: LotDetailOut, **ERROR_RESPONSES})
def lot_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post("/processing/lots/{external_id}/steps", response={201: StepOut, **ERROR_RESPONSES})
def lot_step(request: HttpRequest, external_id: str, payload: StepIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return Status(
        201, services.culture_step_record(actor=_user(request), lot=lot, **payload.dict())
    )


@router.post("/processing/lots/{external_id}/qc-results", response={201: QCOut, **ERROR_RESPONSES})
def lot_qc(request: HttpRequest, external_id: str, payload: QCIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    result = services.qc_result_record(
        actor=_user(request),
        lot=lot,
        test_code=payload.test_code,
        value=payload.value,
        pending=payload.pending,
        tested_at=payload.tested_at,
        method=payload.method,
        organism=payload.organism,
    )
    return Status(201, result)


@router.get("/processing/lots/{external_id}/readiness", response={200: dict, **ERROR_RESPONSES})
def lot_readiness(request: HttpRequest, external_id: str) -> dict[str, Any]:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return {
        **services.lot_readiness(lot=lot).as_dict(),
        "specifications": services.lot_specifications(lot=lot).as_dict(),
    }


@router.get("/processing/lots/{external_id}/release-check", response={200: dict, **ERROR_RESPONSES})
def lot_release_check(request: HttpRequest, external_id: str) -> dict[str, Any]:
    """What would stop QA releasing the lot now: the batch record and the compliance gate."""
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    check = services.lot_release_check(actor=_user(request), lot=lot)
    return {**check.as_dict(), "readiness": services.lot_readiness(lot=lot).as_dict()}


@router.post("/processing/lots/{external_id}/submit-qc", response={200: LotOut, **ERROR_RESPONSES})
def lot_submit_qc(request: HttpRequest, external_id: str) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_submit_qc(actor=_user(request), lot=lot)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


class ReleaseIn(Schema):
    password: str = Field(..., max_length=200)
    meaning: str = Field(..., max_length=300)
    conditional: bool = False
    justification: str = ""
    otp: str | None = Field(None, max_length=64)


@router.post(
    "/processing/lots/{external_id}/release", response={201: ReleaseOut, **ERROR_RESPONSES}
)
def lot_release(request: HttpRequest, external_id: str, payload: ReleaseIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    release = services.lot_release(
        actor=_user(request),
        lot=lot,
        password=payload.password,
        meaning=payload.meaning,
        conditional=payload.conditional,
        justification=payload.justification,
        otp=payload.otp,
    )
    return Status(201, release)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)


@router.post("/processing/lots/{external_id}/quarantine", response={200: LotOut, **ERROR_RESPONSES})
def lot_quarantine(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_quarantine(actor=_user(request), lot=lot, reason=payload.reason)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post(
    "/processing/lots/{external_id}/lift-quarantine", response={200: LotOut, **ERROR_RESPONSES}
)
def lot_lift(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_quarantine_lift(actor=_user(request), lot=lot, reason=payload.reason)
    return selectors.lot_get(actor=_user(request), external_id=external_id)


class RejectIn(Schema):
    """A rejection is an electronic signature: password and, if enrolled, the current code."""

    reason: str = Field(..., min_length=1, max_length=1000)
    password: str = Field(..., max_length=200)
    otp: str | None = Field(None, max_length=64)


@router.post("/processing/lots/{external_id}/reject", response={200: LotOut, **ERROR_RESPONSES})
def lot_reject(request: HttpRequest, external_id: str, payload: RejectIn) -> Any:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    services.lot_reject(
        actor=_user(request),
        lot=lot,
        reason=payload.reason,
        password=payload.password,
        otp=payload.otp,
    )
    return selectors.lot_get(actor=_user(request), external_id=external_id)


@router.post("/processing/lots/{external_id}/reforecast", response={200: dict, **ERROR_RESPONSES})
def lot_reforecast(request: HttpRequest, external_id: str) -> dict[str, Any]:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    return services.lot_reforecast(actor=_user(request), lot=lot).forecast


# --- doses ---------------------------------------------------------------------------------------


class BagIn(Schema):
    cell_count: float = Field(..., gt=0)
    volume_ml: float = Field(..., gt=0)


class DivideIn(Schema):
    bags: list[BagIn] = Field(..., min_length=1, max_length=26)


class DoseOut(Schema):
    external_id: uuid.UUID
    lot: str
    patient_code: str
    din: str
    coi: str
    product_code: str
    division: str
    sequence: int
    status: str
    status_label: str
    cell_count: float
    volume_ml: float
    storage_location: str
    cryopreserved_at: dt.datetime | None
    expires_at: dt.datetime | None
    thawed_at: dt.datetime | None
    post_thaw_viability_pct: float | None
    use_by: dt.datetime | None
    administered_at: dt.datetime | None
    status_reason: str

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.patient.patient_code

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj.get_status_display())


@router.post(
    "/processing/lots/{external_id}/doses", response={201: list[DoseOut], **ERROR_RESPONSES}
)
def lot_divide(request: HttpRequest, external_id: str, payload: DivideIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=external_id)
    doses = services.dose_divide(
        actor=_user(request), lot=lot, bags=[b.dict() for b in payload.bags]
    )
    return Status(201, doses)


class DoseFilter(Schema):
    status: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/processing/doses", response={200: Page[DoseOut], **ERROR_RESPONSES})
def dose_list(request: HttpRequest, filters: Query[DoseFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.dose_list(actor=_user(request), status=filters.status)
    return paginate(qs, limit=filters.limit, offset=filters.offset)


class ScanLookupIn(Schema):
    scan: str = Field(..., max_length=MAX_SCAN_LENGTH)


@router.post("/processing/doses/lookup", response={200: DoseOut, **ERROR_RESPONSES})
def dose_lookup(request: HttpRequest, payload: ScanLookupIn) -> Any:
    _require_view(_user(request))
    dose = selectors.dose_for_scan(actor=_user(request), scan_text=payload.scan)
    if dose is None:
        raise NotFound(_("No dose matches this scan."), code="dose_not_found")
    return dose


@router.get("/processing/doses/{external_id}", response={200: DoseOut, **ERROR_RESPONSES})
def dose_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.dose_get(actor=_user(request), external_id=external_id)


class StoreIn(Schema):
    freezer: str = Field(..., max_length=50)
    rack: str = Field(..., max_length=50)
    position: str = Field(..., max_length=50)
    cryopreserved_at: dt.datetime | None = None


@router.post("/processing/doses/{external_id}/store", response={200: DoseOut, **ERROR_RESPONSES})
def dose_store(request: HttpRequest, external_id: str, payload: StoreIn) -> Any:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    return services.dose_cryopreserve(actor=_user(request), dose=dose, **payload.dict())


class ThawIn(Schema):
    viability_pct: float = Field(..., ge=0, le=100)
    thawed_at: dt.datetime | None = None
    use_within_hours: float | None = Field(None, gt=0, le=48)


@router.post("/processing/doses/{external_id}/thaw", response={200: DoseOut, **ERROR_RESPONSES})
def dose_thaw(request: HttpRequest, external_id: str, payload: ThawIn) -> Any:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    return services.dose_thaw(actor=_user(request), dose=dose, **payload.dict())


class DiscardIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)
    # For a released dose: another CPC technician or QA member confirms with their password.
    second_person: str | None = Field(None, max_length=150, description="username")
    second_person_password: str = Field("", max_length=200)
    second_person_otp: str | None = Field(None, max_length=12)


def second_person_lookup(actor: Any, username: str | None) -> Any:
    """The colleague a username names in the actor's organisation (None when not given)."""
    from saisei.core.errors import ValidationFailed
    from saisei.core.models import User

    if not username:
        return None
    user = User.objects.filter(
        organisation_id=actor.organisation_id, username=username, is_active=True
    ).first()
    if user is None:
        raise ValidationFailed(
            "second_person_unknown",
            _("No active colleague with this username."),
            {"second_person": [_("Unknown user.")]},
        )
    return user


@router.post("/processing/doses/{external_id}/discard", response={200: DoseOut, **ERROR_RESPONSES})
def dose_discard(request: HttpRequest, external_id: str, payload: DiscardIn) -> Any:
    """Destroy a bag (CPC or QA); a released one needs a second person's password."""
    actor = _user(request)
    dose = selectors.dose_get(actor=actor, external_id=external_id)
    return services.dose_discard(
        actor=actor,
        dose=dose,
        reason=payload.reason,
        second_person=second_person_lookup(actor, payload.second_person),
        second_person_password=payload.second_person_password,
        second_person_otp=payload.second_person_otp,
    )


@router.post(
    "/processing/doses/{external_id}/report-unusable", response={200: DoseOut, **ERROR_RESPONSES}
)
def dose_report_unusable(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    """Take a bag out of use at once; it stays on hold until QA decides."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    services.dose_report_unusable(actor=_user(request), dose=dose, reason=payload.reason)
    return selectors.dose_get(actor=_user(request), external_id=external_id)


@router.post(
    "/processing/doses/{external_id}/lift-hold", response={200: DoseOut, **ERROR_RESPONSES}
)
def dose_lift_hold(request: HttpRequest, external_id: str, payload: ReasonIn) -> Any:
    """QA returns a held bag to use, with the reason."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    services.dose_hold_lift(actor=_user(request), dose=dose, reason=payload.reason)
    return selectors.dose_get(actor=_user(request), external_id=external_id)


class HoldOut(Schema):
    external_id: uuid.UUID
    dose: uuid.UUID
    dose_label: str
    lot: str
    kind: str
    reason: str
    source_ref: str
    previous_status: str
    placed_by: str
    placed_at: dt.datetime
    lifted_by: str | None
    lifted_at: dt.datetime | None
    lift_reason: str

    @staticmethod
    def resolve_dose(obj: Any) -> uuid.UUID:
        return obj.dose.external_id

    @staticmethod
    def resolve_dose_label(obj: Any) -> str:
        return f"{obj.dose.din} {obj.dose.product_code}"

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.dose.lot.number

    @staticmethod
    def resolve_placed_by(obj: Any) -> str:
        return obj.placed_by.username

    @staticmethod
    def resolve_lifted_by(obj: Any) -> str | None:
        return obj.lifted_by.username if obj.lifted_by_id else None


@router.get("/processing/holds", response={200: Page[HoldOut], **ERROR_RESPONSES})
def hold_list(
    request: HttpRequest, active: bool = True, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Doses on hold (or every hold, with ``active=false``), newest first."""
    _require_view(_user(request))
    qs = selectors.hold_list(actor=_user(request), active_only=active)
    return paginate(qs, limit=limit, offset=offset)


class LabelIn(Schema):
    count: int = Field(1, ge=1, le=50)
    reason: str = Field("", max_length=500)


@router.post("/processing/doses/{external_id}/labels", response={200: None, **ERROR_RESPONSES})
def dose_labels(request: HttpRequest, external_id: str, payload: LabelIn) -> HttpResponse:
    """Print labels; answers the PDF, and the print is counted for reconciliation."""
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    record, pdf = services.label_print(
        actor=_user(request), dose=dose, count=payload.count, reason=payload.reason
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{dose.din}-{dose.division}.pdf"'
    response["X-Label-Print"] = str(record.external_id)
    return response


@router.post("/processing/donations/{external_id}/labels", response={200: None, **ERROR_RESPONSES})
def donation_labels(request: HttpRequest, external_id: str, payload: LabelIn) -> HttpResponse:
    """Print tissue container labels at collection; answers the PDF, counted for reconciliation."""
    donation = selectors.donation_get(actor=_user(request), external_id=external_id)
    record, pdf = services.donation_label_print(
        actor=_user(request), donation=donation, count=payload.count, reason=payload.reason
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="tissue-label-{donation.din}.pdf"'
    response["X-Label-Print"] = str(record.external_id)
    return response


class ReconcileIn(Schema):
    applied: int = Field(..., ge=0, le=50)
    destroyed: int = Field(..., ge=0, le=50)


class LabelOut(Schema):
    external_id: uuid.UUID
    kind: str
    count: int
    is_reprint: bool
    reason: str
    printed_at: dt.datetime
    applied: int
    destroyed: int
    unaccounted: int


@router.post(
    "/processing/labels/{external_id}/reconcile", response={200: LabelOut, **ERROR_RESPONSES}
)
def label_reconcile(request: HttpRequest, external_id: str, payload: ReconcileIn) -> Any:
    label = get_scoped(selectors.label_list(actor=_user(request)), external_id)
    return services.label_reconcile(
        actor=_user(request), label=label, applied=payload.applied, destroyed=payload.destroyed
    )


# --- custody -------------------------------------------------------------------------------------


class CustodyIn(Schema):
    stage: str
    scan: str = Field(..., max_length=MAX_SCAN_LENGTH)
    dose: uuid.UUID | None = None
    donation: uuid.UUID | None = None
    from_party: str = Field(..., max_length=200)
    to_party: str = Field(..., max_length=200)
    place: str = Field(..., max_length=200)
    occurred_at: dt.datetime | None = None
    temperature_min_c: float | None = Field(None, ge=-273, le=100)
    temperature_max_c: float | None = Field(None, ge=-273, le=100)
    logger_csv: str | None = Field(None, max_length=2_000_000)
    notes: str = ""


class CustodyOut(Schema):
    external_id: uuid.UUID
    stage: str
    from_party: str
    to_party: str
    place: str
    occurred_at: dt.datetime
    recorded_by: str
    temperature_min_c: float | None
    temperature_max_c: float | None
    excursion: bool

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str:
        return obj.recorded_by.username


@router.post("/processing/custody", response={201: CustodyOut, **ERROR_RESPONSES})
def custody_create(request: HttpRequest, payload: CustodyIn) -> Status:
    actor = _user(request)
    dose = selectors.dose_get(actor=actor, external_id=payload.dose) if payload.dose else None
    donation = (
        selectors.donation_get(actor=actor, external_id=payload.donation)
        if payload.donation
        else None
    )
    data = payload.dict()
    event = services.custody_handover(
        actor=actor,
        stage=data["stage"],
        scan_text=data["scan"],
        dose=dose,
        donation=donation,
        from_party=data["from_party"],
        to_party=data["to_party"],
        place=data["place"],
        occurred_at=data["occurred_at"],
        temperature_min_c=data["temperature_min_c"],
        temperature_max_c=data["temperature_max_c"],
        logger_csv=data["logger_csv"],
        notes=data["notes"],
    )
    return Status(201, event)


class ChainOut(Schema):
    dose: DoseOut
    unbroken: bool
    events: list[CustodyOut]
    breaks: list[dict[str, str]]
    excursions: int


@router.get("/processing/doses/{external_id}/custody", response={200: ChainOut, **ERROR_RESPONSES})
def dose_custody(request: HttpRequest, external_id: str) -> dict[str, Any]:
    dose = selectors.dose_get(actor=_user(request), external_id=external_id)
    report = services.chain_of_custody(
        dose=dose, events=list(selectors.custody_list(actor=_user(request), dose=dose))
    )
    return {
        **report,
        "breaks": [{k: str(v) for k, v in b.items()} for b in report["breaks"]],
        "excursions": len(report["excursions"]),
    }


# --- deviations, environment, near-misses -----------------------------------------------------------


class DeviationIn(Schema):
    title: str = Field(..., min_length=1, max_length=300)
    source: str = "other"
    severity: str = "major"
    description: str = ""
    lot: uuid.UUID | None = None


class DeviationUpdateIn(Schema):
    investigation: str | None = None
    impact: str | None = None
    capa: str | None = None
    status: str | None = None


class DeviationFilter(Schema):
    open: bool = False
    limit: int = 50
    offset: int = 0


@router.get("/processing/deviations", response={200: Page[DeviationOut], **ERROR_RESPONSES})
def deviation_list(request: HttpRequest, filters: Query[DeviationFilter]) -> dict[str, Any]:
    _require_view(_user(request))
    qs = selectors.deviation_list(actor=_user(request), open_only=filters.open)
    return paginate(qs, limit=filters.limit, offset=filters.offset)


@router.post("/processing/deviations", response={201: DeviationOut, **ERROR_RESPONSES})
def deviation_create(request: HttpRequest, payload: DeviationIn) -> Status:
    lot = selectors.lot_get(actor=_user(request), external_id=payload.lot) if payload.lot else None
    deviation = services.deviation_open(
        actor=_user(request),
        title=payload.title,
        source=payload.source,
        severity=payload.severity,
        description=payload.description,
        lot=lot,
    )
    return Status(201, deviation)


@router.get("/processing/deviations/{external_id}", response={200: DeviationOut, **ERROR_RESPONSES})
def deviation_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.deviation_get(actor=_user(request), external_id=external_id)


@router.patch(
    "/processing/deviations/{external_id}", response={200: DeviationOut, **ERROR_RESPONSES}
)
def deviation_patch(request: HttpRequest, external_id: str, payload: DeviationUpdateIn) -> Any:
    deviation = selectors.deviation_get(actor=_user(request), external_id=external_id)
    return services.deviation_update(actor=_user(request), deviation=deviation, **payload.dict())


class EnvironmentIn(Schema):
    """A reading: its limits and unit come from the room's approved programme, never the client."""

    site: uuid.UUID
    room: str = Field(..., min_length=1, max_length=100)
    location: str = Field(..., min_length=1, max_length=100, description="sampling point")
    parameter: str = Field(..., max_length=20)
    value: float = Field(..., ge=0)
    sampled_at: dt.datetime | None = None
    lot: uuid.UUID | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_typed_limits(cls, data: Any) -> Any:
        raw = getattr(data, "_obj", data)  # ninja hands the body over wrapped
        typed = [
            k for k in ("alert_limit", "action_limit", "unit") if isinstance(raw, dict) and k in raw
        ]
        if typed:
            raise PydanticCustomError(
                "typed_limits",
                "Limits and units come from the room's approved monitoring programme; "
                "do not send {fields}.",
                {"fields": ", ".join(typed)},
            )
        return data


class EnvironmentOut(Schema):
    external_id: uuid.UUID
    room: str
    location: str
    parameter: str
    unit: str
    value: float
    alert_limit: float
    action_limit: float
    level: str
    sampled_at: dt.datetime
    programme: uuid.UUID | None
    programme_version: int | None
    deviation: str | None

    @staticmethod
    def resolve_deviation(obj: Any) -> str | None:
        return obj.deviation.number if obj.deviation_id else None

    @staticmethod
    def resolve_programme(obj: Any) -> uuid.UUID | None:
        return obj.programme.external_id if obj.programme_id else None

    @staticmethod
    def resolve_programme_version(obj: Any) -> int | None:
        return obj.programme.version if obj.programme_id else None


@router.get("/processing/environment", response={200: Page[EnvironmentOut], **ERROR_RESPONSES})
def environment_list(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(selectors.environment_list(actor=_user(request)), limit=limit, offset=offset)


@router.post("/processing/environment", response={201: EnvironmentOut, **ERROR_RESPONSES})
def environment_create(request: HttpRequest, payload: EnvironmentIn) -> Status:
    actor = _user(request)
    lot = selectors.lot_get(actor=actor, external_id=payload.lot) if payload.lot else None
    data = payload.dict()
    data.pop("lot")
    data["site"] = _site(actor, payload.site)
    return Status(201, services.environmental_result_record(actor=actor, lot=lot, **data))


class LimitIn(Schema):
    parameter: str = Field(..., max_length=20)
    alert_limit: float = Field(..., ge=0)
    action_limit: float = Field(..., ge=0)


class ProgrammeIn(Schema):
    site: uuid.UUID
    room: str = Field(..., min_length=1, max_length=100)
    grade: str = Field(..., max_length=1)
    effective_from: dt.date
    source: str = Field(..., min_length=1, max_length=2000)
    notes: str = Field("", max_length=2000)
    limits: list[LimitIn] = Field(..., min_length=1, max_length=20)


class LimitOut(Schema):
    parameter: str
    parameter_label: str
    unit: str
    alert_limit: float
    action_limit: float

    @staticmethod
    def resolve_parameter_label(obj: Any) -> str:
        return str(obj.get_parameter_display())

    @staticmethod
    def resolve_unit(obj: Any) -> str:
        from saisei.processing.rules import EM_UNITS

        return EM_UNITS.get(obj.parameter, "")


class ProgrammeOut(Schema):
    external_id: uuid.UUID
    site: str
    room: str
    grade: str
    version: int
    status: str
    effective_from: dt.date
    source: str
    prepared_by: str
    approved_by: str | None
    approved_at: dt.datetime | None
    limits: list[LimitOut]

    @staticmethod
    def resolve_site(obj: Any) -> str:
        return obj.site.name

    @staticmethod
    def resolve_prepared_by(obj: Any) -> str:
        return obj.prepared_by.username

    @staticmethod
    def resolve_approved_by(obj: Any) -> str | None:
        return obj.approved_by.username if obj.approved_by_id else None

    @staticmethod
    def resolve_limits(obj: Any) -> list[Any]:
        return list(obj.limits.all())


@router.get(
    "/processing/environment/programmes", response={200: Page[ProgrammeOut], **ERROR_RESPONSES}
)
def programme_list(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Monitoring programme versions per room, newest version first, with their limits."""
    _require_view(_user(request))
    return paginate(selectors.programme_list(actor=_user(request)), limit=limit, offset=offset)


@router.post("/processing/environment/programmes", response={201: ProgrammeOut, **ERROR_RESPONSES})
def programme_prepare(request: HttpRequest, payload: ProgrammeIn) -> Status:
    """Draft the next version of a room's programme (it judges nothing until QA approves it)."""
    actor = _user(request)
    programme = services.monitoring_programme_prepare(
        actor=actor,
        site=_site(actor, payload.site),
        room=payload.room,
        grade=payload.grade,
        effective_from=payload.effective_from,
        source=payload.source,
        notes=payload.notes,
        limits=[row.dict() for row in payload.limits],
    )
    return Status(201, selectors.programme_get(actor=actor, external_id=programme.external_id))


class ApproveIn(Schema):
    password: str = Field(..., max_length=200)
    meaning: str = Field(services.environment.APPROVAL_MEANING, max_length=300)
    otp: str | None = Field(None, max_length=12)


@router.post(
    "/processing/environment/programmes/{external_id}/approve",
    response={200: ProgrammeOut, **ERROR_RESPONSES},
)
def programme_approve(request: HttpRequest, external_id: str, payload: ApproveIn) -> Any:
    """QA approves a draft by e-signature (not the person who prepared it)."""
    actor = _user(request)
    programme = selectors.programme_get(actor=actor, external_id=external_id)
    services.monitoring_programme_approve(
        actor=actor,
        programme=programme,
        password=payload.password,
        meaning=payload.meaning,
        otp=payload.otp,
    )
    return selectors.programme_get(actor=actor, external_id=external_id)


class NearMissOut(Schema):
    external_id: uuid.UUID
    stage: str
    expected: str
    scanned: str
    reason: str
    occurred_at: dt.datetime


@router.get("/processing/near-misses", response={200: Page[NearMissOut], **ERROR_RESPONSES})
def near_misses(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(selectors.near_miss_list(actor=_user(request)), limit=limit, offset=offset)


class FollowUpIn(Schema):
    follow_up: str = Field(..., min_length=1, max_length=5000)


class CultureAlertOut(Schema):
    external_id: uuid.UUID
    lot: str
    reported_at: dt.datetime
    organism: str
    deviation: str
    physicians_notified: list[str]
    doses_blocked: list[str]
    doses_given: list[dict[str, Any]]
    follow_up: str

    @staticmethod
    def resolve_lot(obj: Any) -> str:
        return obj.lot.number

    @staticmethod
    def resolve_deviation(obj: Any) -> str:
        return obj.deviation.number


@router.get("/processing/culture-alerts", response={200: Page[CultureAlertOut], **ERROR_RESPONSES})
def culture_alerts(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    _require_view(_user(request))
    return paginate(selectors.culture_alert_list(actor=_user(request)), limit=limit, offset=offset)


@router.post(
    "/processing/culture-alerts/{external_id}/follow-up",
    response={200: CultureAlertOut, **ERROR_RESPONSES},
)
def culture_alert_follow_up(request: HttpRequest, external_id: str, payload: FollowUpIn) -> Any:
    """Record what happened to the doses already given when a culture turned positive."""
    alert = get_scoped(selectors.culture_alert_list(actor=_user(request)), external_id)
    return services.culture_alert_follow_up(
        actor=_user(request), alert=alert, follow_up=payload.follow_up
    )
