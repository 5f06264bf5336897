"""Environmental monitoring: programme versions per cleanroom, their approval, and readings.

A reading is judged against the approved programme version in force for its room on the day it
was sampled; without one the reading is refused (fail closed). Any excursion opens a deviation,
so the release check can ask whether each has a closed investigation.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Site, User
from saisei.core.services import signature_verify
from saisei.core.timezones import TOKYO
from saisei.processing import permissions
from saisei.processing.models import (
    CleanlinessGrade,
    Deviation,
    EnvironmentalParameter,
    EnvironmentalResult,
    Lot,
    MonitoringLimit,
    MonitoringProgramme,
)
from saisei.processing.rules import EM_UNITS

from .common import aware, require, require_same_org

APPROVAL_MEANING = "I approve this environmental-monitoring programme and its limits."


def _cpc_site(actor: User, site: Site) -> None:
    if site.organisation_id != actor.organisation_id:
        raise ValidationFailed("site_unknown", _("Unknown site."), {"site": [_("Unknown site.")]})
    if site.kind != Site.Kind.CELL_PROCESSING_FACILITY:
        raise ValidationFailed(
            "site_not_cpc",
            _("Environmental monitoring belongs to a cell processing facility."),
            {"site": [_("Choose a cell processing facility.")]},
        )


def _room(room: str) -> str:
    text = " ".join(str(room or "").split())
    if not text or len(text) > 100:
        raise ValidationFailed(
            "room_required",
            _("Name the cleanroom (at most 100 characters)."),
            {"room": [_("Required.")]},
        )
    return text


def _limit(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "invalid_number", _("Enter a number."), {field: [_("Enter a number.")]}
        ) from None
    if not math.isfinite(number) or number < 0:
        raise ValidationFailed(
            "out_of_range", _("A limit cannot be negative."), {field: [_("Out of range.")]}
        )
    return number


def _clean_limits(limits: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    if not limits:
        raise ValidationFailed(
            "limits_required",
            _("A programme needs the alert and action limit of at least one parameter."),
            {"limits": [_("Required.")]},
        )
    out: list[tuple[str, float, float]] = []
    seen: set[str] = set()
    for i, row in enumerate(limits):
        parameter = str(row.get("parameter") or "")
        if parameter not in EnvironmentalParameter.values:
            raise ValidationFailed(
                "em_parameter", _("Unknown parameter."), {f"limits[{i}].parameter": [parameter]}
            )
        if parameter in seen:
            raise ValidationFailed(
                "em_parameter_twice",
                _("Each parameter is listed once per programme."),
                {f"limits[{i}].parameter": [parameter]},
            )
        seen.add(parameter)
        alert = _limit(row.get("alert_limit"), f"limits[{i}].alert_limit")
        action = _limit(row.get("action_limit"), f"limits[{i}].action_limit")
        if action < alert:
            raise ValidationFailed(
                "limits_order",
                _("The action limit must not be below the alert limit."),
                {f"limits[{i}].action_limit": [_("Must be at least the alert limit.")]},
            )
        out.append((parameter, alert, action))
    return out


def monitoring_programme_prepare(
    *,
    actor: User,
    site: Site,
    room: str,
    grade: str,
    effective_from: dt.date,
    source: str,
    limits: list[dict[str, Any]],
    notes: str = "",
) -> MonitoringProgramme:
    """Draft the next version of a room's programme; it judges nothing until QA approves it."""
    require(permissions.can_record_environment(actor))
    _cpc_site(actor, site)
    room = _room(room)
    if grade not in CleanlinessGrade.values:
        raise ValidationFailed("em_grade", _("Choose grade A, B, C or D."), {"grade": [str(grade)]})
    if not isinstance(effective_from, dt.date):
        raise ValidationFailed(
            "effective_from_required",
            _("Give the day the programme takes effect."),
            {"effective_from": [_("Required.")]},
        )
    if not str(source or "").strip():
        raise ValidationFailed(
            "source_required",
            _("Cite where the limits come from (standard, table, trend review)."),
            {"source": [_("Required.")]},
        )
    rows = _clean_limits(limits)
    try:
        with transaction.atomic():
            last = MonitoringProgramme.objects.filter(
                organisation_id=site.organisation_id, site=site, room=room
            ).aggregate(v=Max("version"))["v"]
            programme = MonitoringProgramme.objects.create(
                organisation_id=site.organisation_id,
                site=site,
                room=room,
                grade=grade,
                version=(last or 0) + 1,
                effective_from=effective_from,
                source=source.strip(),
                notes=notes.strip(),
                prepared_by=actor,
                prepared_at=timezone.now(),
            )
            for parameter, alert, action in rows:
                MonitoringLimit.objects.create(
                    organisation_id=site.organisation_id,
                    programme=programme,
                    parameter=parameter,
                    alert_limit=alert,
                    action_limit=action,
                )
            audit_record(
                actor=actor,
                organisation=site.organisation,
                action="em_programme.prepare",
                subject=programme,
                changes={
                    "room": room,
                    "grade": grade,
                    "version": programme.version,
                    "effective_from": effective_from.isoformat(),
                    "limits": [{"parameter": p, "alert": a, "action": b} for p, a, b in rows],
                },
            )
    except IntegrityError:
        raise Conflict(
            "programme_version_taken",
            _("Another version of this room's programme was saved at the same time; try again."),
        ) from None
    return programme


def monitoring_programme_approve(
    *,
    actor: User,
    programme: MonitoringProgramme,
    password: str,
    meaning: str = APPROVAL_MEANING,
    otp: str | None = None,
) -> MonitoringProgramme:
    """QA approves a draft by electronic signature; the preparer may not approve their own."""
    require(permissions.can_approve_environment_programme(actor))
    require_same_org(actor, programme)
    if programme.prepared_by_id == actor.pk:
        raise Conflict(
            "programme_four_eyes",
            _("Someone other than the person who prepared the programme must approve it."),
        )
    signature = signature_verify(actor=actor, password=password, meaning=meaning, otp=otp)
    with transaction.atomic():
        programme = MonitoringProgramme.objects.select_for_update().get(pk=programme.pk)
        if programme.status != MonitoringProgramme.Status.DRAFT:
            raise Conflict("programme_already_approved", _("This version is already approved."))
        programme.status = MonitoringProgramme.Status.APPROVED
        programme.approved_by = actor
        programme.approved_at = signature.signed_at
        programme.approval_signature = signature.as_dict()
        programme.save(
            update_fields=[
                "status",
                "approved_by",
                "approved_at",
                "approval_signature",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            organisation=programme.organisation,
            action="em_programme.approve",
            subject=programme,
            changes={
                "room": programme.room,
                "version": programme.version,
                "signature": signature.as_dict(),
            },
        )
    return programme


def programme_in_force(
    *, organisation_id: int, site: Site, room: str, day: dt.date
) -> MonitoringProgramme | None:
    """The approved version with the latest start on or before ``day``; None when there is none."""
    return (
        MonitoringProgramme.objects.filter(
            organisation_id=organisation_id,
            site=site,
            room=room,
            status=MonitoringProgramme.Status.APPROVED,
            effective_from__lte=day,
            voided_at__isnull=True,
        )
        .order_by("-effective_from", "-version")
        .first()
    )


def environmental_result_record(
    *,
    actor: User,
    site: Site,
    room: str,
    location: str,
    parameter: str,
    value: float,
    sampled_at: dt.datetime | None = None,
    lot: Lot | None = None,
) -> EnvironmentalResult:
    """Judge a reading against the room's programme in force; any excursion opens a deviation."""
    require(permissions.can_record_environment(actor))
    _cpc_site(actor, site)
    if lot is not None:
        require_same_org(actor, lot)
    room = _room(room)
    _check_sample(location=location, parameter=parameter)
    number = _limit(value, "value")
    at = aware(sampled_at, field="sampled_at")
    programme, limit = _programme_limit(site=site, room=room, parameter=parameter, at=at)
    level = (
        EnvironmentalResult.Level.ACTION
        if number > limit.action_limit
        else EnvironmentalResult.Level.ALERT
        if number > limit.alert_limit
        else EnvironmentalResult.Level.WITHIN
    )
    with transaction.atomic():
        deviation = None
        if level != EnvironmentalResult.Level.WITHIN:
            deviation = _open_excursion(
                actor=actor,
                site=site,
                lot=lot,
                room=room,
                location=location,
                parameter=parameter,
                number=number,
                programme=programme,
                limit=limit,
                level=level,
            )
        result = EnvironmentalResult.objects.create(
            organisation=site.organisation,
            site=site,
            lot=lot,
            room=room,
            location=location.strip()[:100],
            parameter=parameter,
            unit=EM_UNITS[parameter],
            value=number,
            programme=programme,
            alert_limit=limit.alert_limit,
            action_limit=limit.action_limit,
            level=level,
            sampled_at=at,
            recorded_by=actor,
            deviation=deviation,
        )
        audit_record(
            actor=actor,
            organisation=site.organisation,
            action="environment.record",
            subject=result,
            changes={
                "room": room,
                "parameter": parameter,
                "value": number,
                "level": level,
                "programme": f"{programme.room} v{programme.version}",
            },
        )
    return result


def _check_sample(*, location: str, parameter: str) -> None:
    if not str(location or "").strip():
        raise ValidationFailed(
            "location_required",
            _("Say where in the room the sample was taken."),
            {"location": [_("Required.")]},
        )
    if parameter not in EnvironmentalParameter.values:
        raise ValidationFailed(
            "em_parameter", _("Unknown parameter."), {"parameter": [str(parameter)]}
        )


def _programme_limit(
    *, site: Site, room: str, parameter: str, at: dt.datetime
) -> tuple[MonitoringProgramme, MonitoringLimit]:
    """The room's approved programme in force that day and its limits for the parameter; a
    reading with neither cannot be judged and is refused."""
    day = at.astimezone(TOKYO).date()
    programme = programme_in_force(
        organisation_id=site.organisation_id, site=site, room=room, day=day
    )
    if programme is None:
        raise ValidationFailed(
            "em_no_programme",
            _(
                "No approved monitoring programme is in force for %(room)s on %(day)s; the "
                "reading cannot be judged. QA must approve the room's programme first."
            )
            % {"room": room, "day": day.isoformat()},
            {"room": [_("No approved programme in force.")]},
        )
    limit = programme.limits.filter(parameter=parameter, voided_at__isnull=True).first()
    if limit is None:
        raise ValidationFailed(
            "em_parameter_not_in_programme",
            _("The programme for %(room)s (version %(version)s) sets no limits for %(parameter)s.")
            % {
                "room": room,
                "version": programme.version,
                "parameter": EnvironmentalParameter(parameter).label,
            },
            {"parameter": [_("Not in the programme in force.")]},
        )
    return programme, limit


def _open_excursion(
    *,
    actor: User,
    site: Site,
    lot: Lot | None,
    room: str,
    location: str,
    parameter: str,
    number: Any,
    programme: MonitoringProgramme,
    limit: MonitoringLimit,
    level: str,
) -> Deviation:
    """An alert opens a minor deviation, an action-limit excursion a major one."""
    from .deviation import deviation_open

    action = level == EnvironmentalResult.Level.ACTION
    return deviation_open(
        actor=actor,
        organisation=site.organisation,
        lot=lot,
        source=Deviation.Source.ENVIRONMENTAL,
        severity=Deviation.Severity.MAJOR if action else Deviation.Severity.MINOR,
        title=(
            _("Action limit exceeded: %(parameter)s in %(room)s")
            if action
            else _("Alert limit exceeded: %(parameter)s in %(room)s")
        )
        % {"parameter": EnvironmentalParameter(parameter).label, "room": room},
        description=_(
            "%(value)s %(unit)s at %(location)s against alert %(alert)s / action "
            "%(action)s (programme version %(version)s)."
        )
        % {
            "value": number,
            "unit": EM_UNITS[parameter],
            "location": location.strip(),
            "alert": limit.alert_limit,
            "action": limit.action_limit,
            "version": programme.version,
        },
    )
