"""QC results against the lot's specification: out of specification quarantines the lot."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import User
from saisei.processing import permissions, specs
from saisei.processing.models import Deviation, Lot, QCResult, Release

from .common import aware, require, require_same_org
from .culture import _culture_positive
from .deviation import deviation_open
from .lot import _block_doses, _move_lot, lot_readiness, lot_specifications


def qc_result_record(
    *,
    actor: User,
    lot: Lot,
    test_code: str,
    value: Any = None,
    pending: bool = False,
    tested_at: dt.datetime | None = None,
    method: str = "",
    organism: str = "",
) -> QCResult:
    """Record a QC result against the lot's specification.

    Out of specification quarantines the lot and opens a deviation; a positive sterility culture
    after release starts the positive-culture workflow instead.
    """
    require(permissions.can_record_qc(actor))
    require_same_org(actor, lot)
    spec_set = lot_specifications(lot=lot)
    try:
        spec = spec_set.get(test_code)
    except KeyError:
        raise ValidationFailed(
            "unknown_test",
            _("This test is not in the lot's specification."),
            {"test_code": [test_code]},
        ) from None
    at = aware(tested_at, field="tested_at")
    evaluation = None if pending else specs.evaluate(spec=spec, value=value)
    outcome = (
        QCResult.Outcome.PENDING
        if evaluation is None
        else QCResult.Outcome.PASSED
        if evaluation.passed
        else QCResult.Outcome.FAILED
    )
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        if lot.status == Lot.Status.REJECTED:
            raise Conflict("lot_rejected", _("The lot is rejected; no further results."), {})
        result = QCResult.objects.create(
            organisation=lot.organisation,
            lot=lot,
            test_code=test_code,
            value="" if evaluation is None else str(evaluation.value),
            outcome=outcome,
            limit_text=spec.limit_text(),
            method=method,
            tested_at=at,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="qc_result.record",
            subject=result,
            changes={
                "lot": lot.number,
                "test": test_code,
                "value": result.value,
                "outcome": outcome,
            },
        )
        _after_result(
            actor=actor,
            lot=lot,
            result=result,
            spec=spec,
            evaluation=evaluation,
            organism=organism or str(value),
            at=at,
        )
    return result


def _after_result(
    *,
    actor: User,
    lot: Lot,
    result: QCResult,
    spec: Any,
    evaluation: Any,
    organism: str,
    at: dt.datetime,
) -> None:
    """What a result moves: a positive sterility culture after release starts the culture
    workflow; another failure opens a deviation and quarantines the lot and its doses; a
    passed sterility test confirms a conditional release once the lot is otherwise ready."""
    test_code, outcome = result.test_code, result.outcome
    released = lot.status in (Lot.Status.RELEASED, Lot.Status.CONDITIONALLY_RELEASED)
    if outcome == QCResult.Outcome.FAILED and test_code == specs.STERILITY and released:
        alert = _culture_positive(actor=actor, lot=lot, organism=organism)
        result.deviation = alert.deviation
        result.save(update_fields=["deviation"])
    elif outcome == QCResult.Outcome.FAILED:
        result.deviation = deviation_open(
            actor=actor,
            organisation=lot.organisation,
            lot=lot,
            source=Deviation.Source.OOS,
            title=_("Out of specification: %(test)s on lot %(lot)s")
            % {"test": spec.name, "lot": lot.number},
            description=str(evaluation.message) if evaluation else "",
        )
        result.save(update_fields=["deviation"])
        if lot.status not in (Lot.Status.QUARANTINED,):
            _move_lot(lot, "quarantine", reason=str(evaluation.message) if evaluation else "OOS")
            _block_doses(
                actor=actor, lot=lot, status="quarantine_hold", reason=_("Lot quarantined")
            )
    elif (
        outcome == QCResult.Outcome.PASSED
        and test_code == specs.STERILITY
        and lot.status == Lot.Status.CONDITIONALLY_RELEASED
    ):
        readiness = lot_readiness(lot=lot)
        if readiness.status == "full":
            _move_lot(lot, "confirm_sterility", {"readiness": readiness})
            Release.objects.filter(lot=lot).update(sterility_confirmed_at=at)
