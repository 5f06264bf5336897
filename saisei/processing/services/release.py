"""QA release of a clean lot, by electronic signature, under the plan in force on the day.

Release needs three things: the QC readiness of the lifecycle guard (every required test passed,
or the conditional pattern), a clean batch record (``processing.rules.RELEASE_RULES``: no open
deviation, every environmental-monitoring excursion investigated, the facility named) and the
compliance gate for the act "release" (the donation's plan in force, the facility listed and
authorised that day, consent). A refused attempt is written to the audit ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, DomainError
from saisei.core.models import User
from saisei.core.services import signature_verify
from saisei.core.timezones import TOKYO
from saisei.processing import permissions, rules
from saisei.processing.lifecycles import DOSE, LOT
from saisei.processing.models import Deviation, Dose, EnvironmentalResult, Lot, Release
from saisei.processing.selectors import lot_environment

from .common import require, require_same_org
from .lot import _move_lot, lot_readiness


@dataclass(frozen=True)
class ReleaseFinding:
    """One reason the lot's own record is not clean, with its rule, source and where to look."""

    rule: str
    message: str
    source: str
    link: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message, "source": self.source}


@dataclass(frozen=True)
class ReleaseCheck:
    """The release check as QA sees it before signing: batch record and compliance gate."""

    at: dt.datetime
    findings: tuple[ReleaseFinding, ...]
    gate: Any  # regulatory GateResult for the act "release"

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def gate_allowed(self) -> bool:
        return bool(self.gate.allowed)

    @property
    def allowed(self) -> bool:
        return self.clean and self.gate_allowed

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "clean": self.clean,
            "findings": [f.as_dict() for f in self.findings],
            "gate": self.gate.as_dict(),
            "allowed": self.allowed,
        }


def _finding(rule: rules.ReleaseRule, message: str, link: str = "") -> ReleaseFinding:
    return ReleaseFinding(rule.id, message, rule.source, link)


def lot_clean_findings(*, lot: Lot, at: dt.datetime) -> list[ReleaseFinding]:
    """What in the lot's own record stops its release (empty: the record is clean)."""
    findings: list[ReleaseFinding] = []
    donation = lot.donation
    open_deviations = (
        Deviation.objects.filter(Q(lot=lot) | Q(donation=donation), voided_at__isnull=True)
        .exclude(status=Deviation.Status.CLOSED)
        .order_by("opened_at", "pk")
    )
    for deviation in open_deviations:
        findings.append(
            _finding(
                rules.RELEASE_OPEN_DEVIATION,
                _("Deviation %(number)s (%(title)s) is still %(status)s.")
                % {
                    "number": deviation.number,
                    "title": deviation.title,
                    "status": deviation.get_status_display().lower(),
                },
                f"/processing/deviations/{deviation.external_id}/",
            )
        )
    # Excursions linked to the lot, and every excursion in its facility while it was made.
    excursions = (
        lot_environment(lot=lot, until=at)
        .exclude(level=EnvironmentalResult.Level.WITHIN)
        .select_related("deviation")
    )
    for reading in excursions:
        deviation = reading.deviation
        if deviation is not None and deviation.status == Deviation.Status.CLOSED:
            continue
        findings.append(
            _finding(
                rules.RELEASE_EM_EXCURSION,
                _(
                    "%(level)s: %(parameter)s in %(room)s on %(day)s; its investigation "
                    "%(number)s is not closed."
                )
                % {
                    "level": reading.get_level_display(),
                    "parameter": reading.get_parameter_display(),
                    "room": reading.room or reading.location,
                    "day": reading.sampled_at.astimezone(TOKYO).date().isoformat(),
                    "number": deviation.number if deviation is not None else "—",
                },
                f"/processing/deviations/{deviation.external_id}/" if deviation else "",
            )
        )
    if donation.facility_id is None:
        findings.append(
            _finding(
                rules.RELEASE_FACILITY_NAMED,
                _("Donation %(din)s names no processing facility; the gate cannot check it.")
                % {"din": donation.din},
            )
        )
    return findings


def _gate_arguments(lot: Lot, at: dt.datetime) -> dict[str, Any]:
    """The act "release" as the gate sees it: the donation's plan, facility and patient, and the
    lot's route and cells per dose (the product the plan must describe). The donation is named so
    the gate reads the harvest's recorded cell source (and facility) from it, never the plan's."""
    donation = lot.donation
    return {
        "act": "release",
        "institution": donation.site,
        "physician": None,
        "patient": donation.patient,
        "plan": donation.plan,
        "route": lot.route,
        "dose_cells": int(lot.cells_per_dose),
        "administration_number": None,
        "at": at,
        "facility": donation.facility,
        "donation": donation,
    }


def lot_release_check(*, actor: User, lot: Lot, at: dt.datetime | None = None) -> ReleaseCheck:
    """Everything that would stop QA releasing the lot now, without changing anything."""
    from saisei.regulatory.services import gate_check

    require(permissions.can_view_processing(actor))
    require_same_org(actor, lot)
    when = at or timezone.now()
    lot = Lot.objects.select_related(
        "donation", "donation__plan", "donation__facility", "donation__site", "donation__patient"
    ).get(pk=lot.pk)
    return ReleaseCheck(
        at=when,
        findings=tuple(lot_clean_findings(lot=lot, at=when)),
        gate=gate_check(actor=actor, **_gate_arguments(lot, when)),
    )


def _record_refusal(*, actor: User, lot: Lot, kind: str, error: DomainError) -> None:
    """The refused attempt stays on record (its own transaction: the release rolled back)."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="lot.release_refused",
            subject=lot,
            changes={
                "lot": lot.number,
                "kind": kind,
                "code": error.code,
                "message": str(error.message),
                "fields": error.as_dict()["error"]["fields"],
            },
        )


def lot_release(
    *,
    actor: User,
    lot: Lot,
    password: str,
    meaning: str,
    conditional: bool = False,
    justification: str = "",
    otp: str | None = None,
) -> Release:
    """QA releases a clean lot by electronic signature; the database allows one release per lot.

    Full release needs every required test passed; conditional release is for fresh product while
    only the sterility culture runs (DESIGN invariant 4). Either way the batch record must be
    clean and the compliance gate must pass for the act "release" on the signing day.
    """
    from saisei.regulatory.services import gate_require

    require(permissions.can_release_lot(actor))
    require_same_org(actor, lot)
    signature = signature_verify(actor=actor, password=password, meaning=meaning, otp=otp)
    kind = Release.Kind.CONDITIONAL if conditional else Release.Kind.FULL
    lot = Lot.objects.select_related(
        "donation", "donation__plan", "donation__facility", "donation__site", "donation__patient"
    ).get(pk=lot.pk)
    try:
        # The gate runs before the transaction, so evidence of a refusal it keeps is not rolled
        # back with the release; the lot's row lock does not lock the plan or facility facts it
        # reads either way.
        gate = gate_require(
            actor=actor,
            subject=_("Release of lot %(lot)s") % {"lot": lot.number},
            **_gate_arguments(lot, signature.signed_at),
        )
        with transaction.atomic():
            lot = Lot.objects.select_for_update().select_related("donation").get(pk=lot.pk)
            if Release.objects.filter(lot=lot).exists():
                raise Conflict("already_released", _("This lot has already been released."), {})
            readiness = lot_readiness(lot=lot)
            name = "release_conditional" if conditional else "release"
            move = {"readiness": readiness, "justification": justification}
            # The QC guard first: a lot still in culture or short of results says so.
            LOT.check(lot, name, ctx=move)
            _require_clean(lot, at=signature.signed_at)
            _move_lot(lot, name, move)
            release = Release.objects.create(
                organisation=lot.organisation,
                lot=lot,
                kind=kind,
                signed_by=actor,
                signed_at=signature.signed_at,
                meaning=signature.meaning[:300],
                signature=signature.as_dict(),
                justification=justification.strip(),
                readiness={**readiness.as_dict(), "gate": _json(gate.as_dict())},
            )
            _release_doses(lot)
            audit_record(
                actor=actor,
                organisation=lot.organisation,
                action="lot.release",
                subject=release,
                changes={
                    "lot": lot.number,
                    "kind": release.kind,
                    "signature": signature.as_dict(),
                    "justification": release.justification,
                    "gate": [f.rule for f in gate.findings],
                },
            )
    except IntegrityError:
        raise Conflict("already_released", _("This lot has already been released."), {}) from None
    except DomainError as exc:
        if exc.code != "already_released":
            _record_refusal(actor=actor, lot=lot, kind=kind, error=exc)
        raise
    return release


def _require_clean(lot: Lot, *, at: dt.datetime) -> None:
    """The batch record is clean at signing (``lot_clean_findings`` finds nothing), or 409."""
    findings = lot_clean_findings(lot=lot, at=at)
    if findings:
        raise Conflict(
            "lot_not_clean",
            _("The lot's record is not clean: %(findings)s")
            % {"findings": " ".join(f.message for f in findings)},
            {
                "rules": sorted({f.rule for f in findings}),
                "findings": [f.message for f in findings],
            },
        )


def _release_doses(lot: Lot) -> None:
    """The lot's quarantined doses become released, each under its row lock."""
    for dose in Dose.objects.select_for_update().filter(lot=lot, status=Dose.Status.QUARANTINE):
        DOSE.check(dose, "release")
        dose.status = Dose.Status.RELEASED
        dose.save(update_fields=["status", "updated_at"])


def _json(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
