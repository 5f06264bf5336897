"""Near-misses and custody hand-overs: every hand-over scans the container (DESIGN invariant 2)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.core.services import notify
from saisei.processing import display, permissions
from saisei.processing.lifecycles import DOSE, DOSE_RELEASED, DOSE_USABLE
from saisei.processing.models import CustodyEvent, Deviation, Donation, Dose, NearMiss
from saisei.processing.rules import processing_config
from saisei.processing.selectors import scanned_ids

from .common import aware, require, require_same_org, staff
from .identity import donation_course_coi, dose_course_coi

TRANSPORT_STAGES = frozenset({CustodyEvent.Stage.TRANSPORT, CustodyEvent.Stage.SHIPMENT})
# Dose status move each hand-over implies (None: recorded without a status change).
STAGE_DOSE_TRANSITION: dict[str, str | None] = {
    CustodyEvent.Stage.STORAGE: None,
    CustodyEvent.Stage.SHIPMENT: "ship",
    CustodyEvent.Stage.TRANSPORT: None,
    CustodyEvent.Stage.CLINIC_RECEIPT: "receive",
    CustodyEvent.Stage.BEDSIDE: None,
}
# A bag reaches the bedside only once QA released it (a quarantined bag stays at the CPC).
STAGE_DOSE_STATUSES: dict[str, frozenset[str]] = {
    CustodyEvent.Stage.BEDSIDE: DOSE_RELEASED,
}
MAX_LOGGER_ROWS = 100_000


def near_miss_record(
    *,
    actor: User | None,
    organisation: Organisation,
    stage: str,
    expected: str,
    scanned: str,
    reason: str,
    patient: Any = None,
    dose: Dose | None = None,
) -> NearMiss:
    """Record an identity mismatch a scan caught, and tell QA (cross-app contract).

    Runs in its own transaction so the record survives the refusal that follows it.
    """
    with transaction.atomic():
        near_miss = NearMiss.objects.create(
            organisation=organisation,
            stage=str(stage)[:40],
            expected=str(expected)[:300],
            scanned=str(scanned)[:500],
            reason=str(reason)[:300],
            patient=patient,
            dose=dose,
            recorded_by=actor,
            occurred_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            organisation=organisation,
            action="near_miss.record",
            subject=near_miss,
            changes={"stage": stage, "expected": expected, "scanned": scanned, "reason": reason},
        )
        notify(
            users=staff(organisation=organisation, roles=(Role.QA_MANAGER,)),
            subject=_("Near-miss at %(stage)s: %(reason)s")
            % {
                "stage": display.custody_stage_label(stage),
                "reason": display.near_miss_reason_text(reason),
            },
            level="danger",
            link="/processing/near-misses/",
            dedupe_key=f"near_miss:{near_miss.external_id}",
        )
    return near_miss


def parse_logger_csv(*, text: str) -> dict[str, Any]:
    """Read a data-logger export: a header row with a time column and a temperature column.

    Accepts common column names (time/timestamp/datetime, temp/temperature/°C); returns min, max,
    the number of readings and the first and last time stamp as written.
    """
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ValidationFailed(
            "logger_csv_empty",
            _("The data-logger file has no readings."),
            {"logger_csv": [_("No readings found.")]},
        )
    header = [h.strip().lower() for h in rows[0]]
    temp_col = next(
        (i for i, h in enumerate(header) if "temp" in h or "°c" in h or h in ("c", "celsius")), None
    )
    time_col = next((i for i, h in enumerate(header) if "time" in h or "date" in h), None)
    if temp_col is None:
        raise ValidationFailed(
            "logger_csv_no_temperature",
            _("The data-logger file has no temperature column."),
            {"logger_csv": [_("Name a column 'temperature'.")]},
        )
    values: list[float] = []
    for index, row in enumerate(rows[1 : MAX_LOGGER_ROWS + 1], start=2):
        try:
            values.append(float(row[temp_col].strip().replace(",", ".")))
        except (ValueError, IndexError):
            raise ValidationFailed(
                "logger_csv_bad_row",
                _("Line %(line)s of the data-logger file has no readable temperature.")
                % {"line": index},
                {"logger_csv": [_("Line %(line)s is not readable.") % {"line": index}]},
            ) from None
    first = rows[1][time_col] if time_col is not None and len(rows[1]) > time_col else ""
    last = rows[-1][time_col] if time_col is not None and len(rows[-1]) > time_col else ""
    return {
        "readings": len(values),
        "min_c": min(values),
        "max_c": max(values),
        "first": first.strip(),
        "last": last.strip(),
    }


def _limits(*, stage: str, dose: Dose | None) -> tuple[float | None, float | None]:
    config = processing_config()
    if dose is not None and dose.cryopreserved_at is not None:
        return None, config.cryo_transport_max_c
    return config.transport_min_c, config.transport_max_c


def _expected(dose: Dose | None, donation: Donation | None) -> dict[str, str]:
    """What the container must carry; the CoI is its treatment course's (refused if unproven)."""
    if dose is not None:
        coi = dose_course_coi(dose=dose)
        return {"din": dose.din, "coi": coi, "product_code": dose.product_code}
    assert donation is not None
    return {"din": donation.din, "coi": donation_course_coi(donation=donation)}


def identity_check(*, expected: dict[str, str], scan_text: str) -> tuple[bool, str, dict[str, Any]]:
    """Compare a scan with what the container must carry; (ok, reason, scanned identifiers)."""
    ids = scanned_ids(scan_text=scan_text)
    found = {"din": ids.din, "coi": ids.coi, "product_code": ids.product_code}
    if not ids.din and not ids.coi:
        return False, "unreadable", found
    if ids.din and ids.din != expected["din"]:
        return False, "din_mismatch", found
    if ids.coi and ids.coi != expected["coi"]:
        return False, "coi_mismatch", found
    if (
        ids.product_code
        and "product_code" in expected
        and ids.product_code != expected["product_code"]
    ):
        return False, "product_code_mismatch", found
    return True, "", found


REASON_TEXT = {
    "din_mismatch": _l("The container's DIN belongs to another donation."),
    "coi_mismatch": _l(
        "The container's chain-of-identity identifier belongs to another patient or another "
        "treatment course."
    ),
    "product_code_mismatch": _l("The container is another bag of this donation."),
}


def _require_movable(dose: Dose, stage: str) -> None:
    """A held, recalled, discarded or given bag moves nowhere; the bedside takes released bags."""
    allowed = STAGE_DOSE_STATUSES.get(stage, DOSE_USABLE)
    if dose.status not in allowed:
        raise Conflict(
            "dose_blocked",
            _("This dose is %(status)s and may not be handed over (%(stage)s).")
            % {
                "status": dose.get_status_display(),
                "stage": CustodyEvent.Stage(stage).label,
            },
            {"dose": [str(dose.get_status_display())]},
        )


def custody_handover(
    *,
    actor: User,
    stage: str,
    scan_text: str,
    from_party: str,
    to_party: str,
    place: str,
    dose: Dose | None = None,
    donation: Donation | None = None,
    occurred_at: dt.datetime | None = None,
    temperature_min_c: float | None = None,
    temperature_max_c: float | None = None,
    logger_csv: str | None = None,
    notes: str = "",
) -> CustodyEvent:
    """Record a hand-over after the container scan matches; a mismatch is refused and recorded.

    Transport legs need a minimum and maximum temperature or a data-logger file; readings outside
    the limits mark an excursion and open a deviation (chain of condition, FACT CM10).
    """
    require(permissions.can_record_custody(actor))
    if (dose is None) == (donation is None):
        raise ValidationFailed(
            "custody_subject", _("Hand over either a dose or a tissue donation."), {}
        )
    subject = dose or donation
    require_same_org(actor, subject)
    _check_handover_fields(stage=stage, from_party=from_party, to_party=to_party, place=place)
    at = aware(occurred_at, field="occurred_at")
    if dose is not None:
        _require_movable(dose, stage)
    found = _check_scan(actor=actor, stage=stage, scan_text=scan_text, dose=dose, donation=donation)
    reading = _temperature_reading(
        stage=stage,
        dose=dose,
        logger_csv=logger_csv,
        temperature_min_c=temperature_min_c,
        temperature_max_c=temperature_max_c,
    )
    with transaction.atomic():
        if dose is not None:
            dose = _move_dose(dose, stage)
        event = CustodyEvent.objects.create(
            organisation=subject.organisation,  # type: ignore[union-attr]
            stage=stage,
            dose=dose,
            donation=donation,
            from_party=from_party.strip(),
            to_party=to_party.strip(),
            place=place.strip(),
            occurred_at=at,
            recorded_by=actor,
            scanned=scan_text[:500],
            notes=notes,
            **reading,
        )
        if donation is not None and stage == CustodyEvent.Stage.CPC_RECEIPT:
            donation.received_at = at
            donation.save(update_fields=["received_at", "updated_at"])
        if event.excursion:
            _open_excursion_deviation(actor=actor, event=event)
        audit_record(
            actor=actor,
            organisation=subject.organisation,  # type: ignore[union-attr]
            action="custody.handover",
            subject=event,
            changes={
                "stage": stage,
                "dose": str(dose.external_id) if dose else None,
                "donation": str(donation.external_id) if donation else None,
                "scanned": found,
                "excursion": event.excursion,
            },
        )
    return event


def _check_handover_fields(*, stage: str, from_party: str, to_party: str, place: str) -> None:
    """A known stage, and who hands over, who receives and where."""
    if stage not in CustodyEvent.Stage.values:
        raise ValidationFailed(
            "custody_stage", _("Unknown hand-over stage."), {"stage": [_("Unknown stage.")]}
        )
    for name, value in (("from_party", from_party), ("to_party", to_party), ("place", place)):
        if not str(value or "").strip():
            raise ValidationFailed(
                "custody_incomplete",
                _("Say who hands over, who receives, and where."),
                {name: [_("This field is required.")]},
            )


def _check_scan(
    *, actor: User, stage: str, scan_text: str, dose: Dose | None, donation: Donation | None
) -> dict[str, Any]:
    """The identifiers the container scan carried; an unreadable scan is refused, a mismatch
    is recorded as a near-miss and refused."""
    subject = dose or donation
    expected = _expected(dose, donation)
    ok, reason, found = identity_check(expected=expected, scan_text=scan_text)
    if not ok and reason == "unreadable":
        raise ValidationFailed(
            "scan_unreadable",
            _("The scan carries no valid DIN or chain-of-identity identifier. Scan again."),
            {"scan": [_("Scan the container's label.")]},
        )
    if not ok:
        patient = dose.patient if dose is not None else donation.patient  # type: ignore[union-attr]
        near_miss_record(
            actor=actor,
            organisation=subject.organisation,  # type: ignore[union-attr]
            stage=stage,
            expected=" ".join(f"{k}={v}" for k, v in expected.items()),
            scanned=scan_text,
            reason=reason,
            patient=patient,
            dose=dose,
        )
        raise Conflict(
            "identity_mismatch",
            _(
                "Stop: the scanned container does not match. %(why)s The hand-over was not recorded "
                "and a near-miss was reported."
            )
            % {"why": REASON_TEXT[reason]},
            {"scan": [REASON_TEXT[reason]]},
        )
    return found


def _temperature_reading(
    *,
    stage: str,
    dose: Dose | None,
    logger_csv: str | None,
    temperature_min_c: float | None,
    temperature_max_c: float | None,
) -> dict[str, Any]:
    """The leg's temperatures (from the data-logger file when given), the limits of a transport
    leg and whether they were exceeded, as custody-event fields."""
    summary: dict[str, Any] = {}
    if logger_csv:
        summary = parse_logger_csv(text=logger_csv)
        temperature_min_c = summary["min_c"]
        temperature_max_c = summary["max_c"]
    if stage in TRANSPORT_STAGES and (temperature_min_c is None or temperature_max_c is None):
        raise ValidationFailed(
            "temperature_required",
            _("Enter the minimum and maximum temperature, or upload the data-logger file."),
            {"temperature_min_c": [_("Required for transport.")]},
        )
    if (
        temperature_min_c is not None
        and temperature_max_c is not None
        and temperature_min_c > temperature_max_c
    ):
        raise ValidationFailed(
            "temperature_range",
            _("The minimum temperature is above the maximum."),
            {"temperature_min_c": [_("Check the values.")]},
        )
    low, high = _limits(stage=stage, dose=dose) if stage in TRANSPORT_STAGES else (None, None)
    excursion = bool(
        (low is not None and temperature_min_c is not None and temperature_min_c < low)
        or (high is not None and temperature_max_c is not None and temperature_max_c > high)
    )
    return {
        "temperature_min_c": temperature_min_c,
        "temperature_max_c": temperature_max_c,
        "limit_min_c": low,
        "limit_max_c": high,
        "logger_summary": summary,
        "excursion": excursion,
    }


def _move_dose(dose: Dose, stage: str) -> Dose:
    """Re-read the dose under its row lock (a hold or recall committed since the check wins)
    and move it as the stage says."""
    dose = Dose.objects.select_for_update().get(pk=dose.pk)
    _require_movable(dose, stage)
    move = STAGE_DOSE_TRANSITION.get(stage)
    if move:
        transition = DOSE.check(dose, move)
        dose.status = transition.target
        dose.save(update_fields=["status", "updated_at"])
    return dose


def _open_excursion_deviation(*, actor: User, event: CustodyEvent) -> None:
    """A temperature excursion opens a deviation on the lot or the donation (FACT CM10)."""
    from .deviation import deviation_open

    dose, donation = event.dose, event.donation
    deviation_open(
        actor=actor,
        organisation=event.organisation,
        lot=dose.lot if dose is not None else None,
        donation=donation,
        source=Deviation.Source.CUSTODY,
        title=_("Temperature excursion during %(stage)s") % {"stage": event.get_stage_display()},
        description=_("Recorded %(min)s to %(max)s °C; limits %(low)s to %(high)s °C.")
        % {
            "min": event.temperature_min_c,
            "max": event.temperature_max_c,
            "low": event.limit_min_c,
            "high": event.limit_max_c,
        },
    )


def chain_of_custody(*, dose: Dose, events: list[CustodyEvent]) -> dict[str, Any]:
    """The trail of one dose with its breaks: each hand-over must start where the last ended."""
    breaks: list[dict[str, Any]] = []
    previous: CustodyEvent | None = None
    for event in events:
        if (
            previous is not None
            and event.from_party.strip().lower() != previous.to_party.strip().lower()
        ):
            breaks.append(
                {
                    "after": previous.get_stage_display(),
                    "before": event.get_stage_display(),
                    "message": _("%(to)s received it, but %(from)s handed it over next.")
                    % {"to": previous.to_party, "from": event.from_party},
                }
            )
        previous = event
    excursions = [e for e in events if e.excursion]
    return {
        "dose": dose,
        "events": events,
        "breaks": breaks,
        "excursions": excursions,
        "unbroken": bool(events) and not breaks,
    }
