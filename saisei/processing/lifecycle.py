"""Lot and dose lifecycles, each declared once as a table of transitions with one guard apiece.

Services call ``check_transition``; a guard returns None when the move is allowed or a refusal
message. Each guard's docstring states its rule and source (house style, from SENAITE).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.errors import Conflict

Guard = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    guard: Guard


def _always(obj: Any, ctx: dict[str, Any]) -> Any:
    """No rule beyond the source state."""
    return None


# --- Lot ---------------------------------------------------------------------------------------


def _lot_harvest_recorded(lot: Any, ctx: dict[str, Any]) -> Any:
    """QC starts on the harvested product: a harvest step with a count must be on the batch record
    (ASRM Ordinance manufacturing records)."""
    if not lot.steps.filter(
        kind="harvest", voided_at__isnull=True, cell_count__isnull=False
    ).exists():
        return _("Record the harvest with its cell count before sending the lot to QC.")
    return None


def _lot_full_release(lot: Any, ctx: dict[str, Any]) -> Any:
    """Every required release test has a passing result (DESIGN invariant 4; facts §3.2)."""
    readiness = ctx["readiness"]
    if readiness.status != "full":
        return _("Not every required test has passed: %(reasons)s") % {
            "reasons": " ".join(str(r) for r in readiness.reasons)
        }
    return None


def _lot_conditional_release(lot: Any, ctx: dict[str, Any]) -> Any:
    """Only the sterility culture may still run, its rapid Gram stain passed, the product allows
    conditional release, and a justification is documented (fresh-product pattern, facts §3.2)."""
    readiness = ctx["readiness"]
    if not lot.allow_conditional_release:
        return _("This lot is not a fresh product; conditional release is not allowed.")
    if readiness.status != "conditional":
        return _("Conditional release is not possible: %(reasons)s") % {
            "reasons": " ".join(str(r) for r in readiness.reasons)
        }
    if not str(ctx.get("justification", "")).strip():
        return _("Document why the lot must be released before the sterility culture ends.")
    return None


def _lot_sterility_confirmed(lot: Any, ctx: dict[str, Any]) -> Any:
    """A conditional release becomes full once the final sterility result is negative."""
    readiness = ctx["readiness"]
    if readiness.status != "full":
        return _("The final sterility result is not in or not negative yet.")
    return None


def _lot_deviations_closed(lot: Any, ctx: dict[str, Any]) -> Any:
    """A quarantined lot returns to QC only after its deviations are closed with an investigation
    (GMP deviation management)."""
    if lot.deviations.exclude(status="closed").filter(voided_at__isnull=True).exists():
        return _("Close the lot's deviations (investigation, impact, CAPA) first.")
    return None


def _reason_given(obj: Any, ctx: dict[str, Any]) -> Any:
    """Rejecting, discarding or recalling needs a reason (ALCOA+ data integrity)."""
    if not str(ctx.get("reason", "")).strip():
        return _("Give a reason.")
    return None


LOT_TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit_qc", frozenset({"in_culture"}), "qc_pending", _lot_harvest_recorded),
    Transition(
        "quarantine",
        frozenset({"in_culture", "qc_pending", "released", "conditionally_released"}),
        "quarantined",
        _reason_given,
    ),
    Transition("release", frozenset({"qc_pending"}), "released", _lot_full_release),
    Transition(
        "release_conditional",
        frozenset({"qc_pending"}),
        "conditionally_released",
        _lot_conditional_release,
    ),
    Transition(
        "confirm_sterility",
        frozenset({"conditionally_released"}),
        "released",
        _lot_sterility_confirmed,
    ),
    Transition("lift_quarantine", frozenset({"quarantined"}), "qc_pending", _lot_deviations_closed),
    Transition(
        "reject",
        frozenset(
            {"in_culture", "qc_pending", "quarantined", "released", "conditionally_released"}
        ),
        "rejected",
        _reason_given,
    ),
)


# --- Dose --------------------------------------------------------------------------------------

# States in which a bag may still move along the chain of custody.
DOSE_USABLE = frozenset({"quarantine", "released", "shipped", "received", "thawed"})
# States in which QA has released the bag for use.
DOSE_RELEASED = frozenset({"released", "shipped", "received", "thawed"})
# Every state in which the bag still exists unused (held bags move nowhere, but can be discarded).
DOSE_IN_STOCK = DOSE_USABLE | {"on_hold"}


def _dose_lot_released(dose: Any, ctx: dict[str, Any]) -> Any:
    """A dose leaves quarantine only when QA has released its lot (DESIGN invariant 4)."""
    if dose.lot.status not in ("released", "conditionally_released"):
        return _("The lot has not been released by QA.")
    return None


def _dose_lot_still_released(dose: Any, ctx: dict[str, Any]) -> Any:
    """A dose moves on only while its lot stays released (a positive culture blocks every dose)."""
    return _dose_lot_released(dose, ctx)


def _dose_thaw_ok(dose: Any, ctx: dict[str, Any]) -> Any:
    """Thaw is recorded with post-thaw viability and a use-by time (facts §3.2, post-thaw
    viability ≥ 70 %); the lot must still be released and the bag within its expiry."""
    refusal = _dose_lot_released(dose, ctx)
    if refusal:
        return refusal
    if dose.expires_at and (ctx.get("at") or timezone.now()) > dose.expires_at:
        return _("The dose has expired; it must not be thawed.")
    if ctx.get("viability") is None:
        return _("Record the post-thaw viability.")
    return None


def _dose_administrable(dose: Any, ctx: dict[str, Any]) -> Any:
    """Only a thawed dose of a released lot, within its use-by time and with post-thaw viability
    within specification, may be given (facts §3.2; DESIGN invariant 3)."""
    refusal = _dose_lot_released(dose, ctx)
    if refusal:
        return refusal
    at = ctx.get("at") or timezone.now()
    if dose.use_by and at > dose.use_by:
        return _("The dose is past its use-by time.")
    minimum = ctx.get("viability_min", 70.0)
    if dose.post_thaw_viability_pct is None or dose.post_thaw_viability_pct < minimum:
        return _("Post-thaw viability is missing or below the specification.")
    return None


def _dose_hold_liftable(dose: Any, ctx: dict[str, Any]) -> Any:
    """QA lifts a hold with a reason; a bag goes back into use only while its lot is still
    released (a lot quarantined or rejected meanwhile keeps it out of use)."""
    refusal = _reason_given(dose, ctx)
    if refusal:
        return refusal
    if ctx.get("previous_status") in DOSE_RELEASED:
        return _dose_lot_released(dose, ctx)
    return None


DOSE_TRANSITIONS: tuple[Transition, ...] = (
    Transition("release", frozenset({"quarantine"}), "released", _dose_lot_released),
    Transition("ship", frozenset({"released"}), "shipped", _dose_lot_still_released),
    Transition("receive", frozenset({"shipped"}), "received", _always),
    Transition("thaw", frozenset({"released", "received"}), "thawed", _dose_thaw_ok),
    Transition("administer", frozenset({"thawed"}), "administered", _dose_administrable),
    Transition(
        "hold",
        frozenset({"released", "shipped", "received", "thawed"}),
        "quarantine",
        _reason_given,
    ),
    Transition("place_on_hold", DOSE_USABLE, "on_hold", _reason_given),
    # The target is nominal: the service returns the bag to the status it had when held.
    Transition("lift_hold", frozenset({"on_hold"}), "released", _dose_hold_liftable),
    Transition("discard", DOSE_IN_STOCK, "discarded", _reason_given),
    Transition("recall", DOSE_IN_STOCK, "recalled", _reason_given),
)


def _find(table: tuple[Transition, ...], name: str) -> Transition:
    for t in table:
        if t.name == name:
            return t
    raise KeyError(name)


def check_transition(
    *, table: tuple[Transition, ...], obj: Any, name: str, ctx: dict[str, Any] | None = None
) -> Transition:
    """Refuse with a stable code unless the object is in a source state and the guard passes."""
    transition = _find(table, name)
    if obj.status not in transition.sources:
        raise Conflict(
            "invalid_transition",
            _("This cannot be done while the status is %(status)s.")
            % {"status": obj.get_status_display()},
            {"status": [obj.status]},
        )
    refusal = transition.guard(obj, ctx or {})
    if refusal:
        raise Conflict(f"{name}_refused", refusal)
    return transition


def allowed_transitions(*, table: tuple[Transition, ...], obj: Any) -> list[str]:
    """Names of transitions whose source state matches (guards not evaluated)."""
    return [t.name for t in table if obj.status in t.sources]
