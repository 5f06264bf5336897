"""Lot, dose and deviation lifecycles, declared on core's workflow engine.

Each transition has one guard whose docstring states its rule; ``source`` cites the rule.
Services move records through ``LOT``, ``DOSE`` and ``DEVIATION`` (see ``saisei.core.workflow``),
so a wrong move is refused the same way everywhere; ``docs/lifecycles.md`` is generated from here.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.workflow import Lifecycle, Refusal, Transition
from saisei.processing import permissions
from saisei.processing.models import Deviation, Dose, Lot

# Citations shared by several moves.
SRC_BATCH_RECORD = (
    "ASRM Enforcement Regulation Art. 99–100 (manufacturing and quality control records); "
    "PIC/S GMP Part I ch. 4 (batch records)"
)
SRC_RELEASE = (
    "ASRM Enforcement Regulation Art. 100 (quality control: release of the cell product); "
    "PIC/S GMP Part I ch. 1 and Annex 16 (certification before release)"
)
SRC_FRESH_RELEASE = (
    "USP <71> / 21 CFR 610.12 (14-day sterility culture) with a Gram stain as rapid pre-release "
    "test, as in CONCERT-HF (Bolli et al., Eur J Heart Fail 2018; PMC5993622)"
)
SRC_DEVIATION = (
    "ASRM Enforcement Regulation Art. 99–100 (deviation control); PIC/S GMP Part I ch. 1 "
    "(deviations investigated, CAPA) and ch. 8"
)
SRC_ALCOA = "PIC/S PI 041-1 (2021), Good practices for data management and integrity (ALCOA+)"
SRC_POST_THAW = (
    "Post-thaw viability ≥ 70 % before use, as in CONCERT-HF (Bolli et al., Eur J Heart Fail "
    "2018; PMC5993622)"
)
SRC_DOSE_RELEASE = (
    "ASRM Enforcement Regulation Art. 100 (only a released cell product is supplied); "
    "ISO 21973:2020 (transport of cells for therapeutic use)"
)


def _reason_given(obj: Any, ctx: dict[str, Any]) -> Any:
    """Rejecting, discarding, holding or recalling needs a written reason."""
    if not str(ctx.get("reason", "")).strip():
        return _("Give a reason.")
    return None


# --- Lot ---------------------------------------------------------------------------------------


def _lot_harvest_recorded(lot: Any, ctx: dict[str, Any]) -> Any:
    """QC starts on the harvested product: a harvest step with a cell count must be on the batch
    record."""
    if not lot.steps.filter(
        kind="harvest", voided_at__isnull=True, cell_count__isnull=False
    ).exists():
        return _("Record the harvest with its cell count before sending the lot to QC.")
    return None


def _lot_full_release(lot: Any, ctx: dict[str, Any]) -> Any:
    """Every required release test of the lot's specification has a passing result."""
    readiness = ctx["readiness"]
    if readiness.status != "full":
        return _("Not every required test has passed: %(reasons)s") % {
            "reasons": " ".join(str(r) for r in readiness.reasons)
        }
    return None


def _lot_conditional_release(lot: Any, ctx: dict[str, Any]) -> Any:
    """A fresh product may be released while only the sterility culture still runs, once its
    rapid Gram stain passed and a justification is documented."""
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
    """A quarantined lot returns to QC only after its deviations are closed with an
    investigation, impact assessment and CAPA."""
    if lot.deviations.exclude(status="closed").filter(voided_at__isnull=True).exists():
        return _("Close the lot's deviations (investigation, impact, CAPA) first.")
    return None


LOT_RELEASABLE = frozenset({Lot.Status.QC_PENDING})

LOT = Lifecycle(
    name="lot",
    model="processing.Lot",
    title=_("Lot"),
    states=tuple(Lot.Status.choices),
    transitions=(
        Transition(
            "submit_qc",
            frozenset({"in_culture"}),
            "qc_pending",
            _("Send to QC"),
            guard=_lot_harvest_recorded,
            source=SRC_BATCH_RECORD,
            effects="QC results are recorded against the lot's specification.",
        ),
        Transition(
            "quarantine",
            frozenset({"in_culture", "qc_pending", "released", "conditionally_released"}),
            "quarantined",
            _("Quarantine"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="Every unused dose of the lot goes back to quarantine.",
        ),
        Transition(
            "release",
            frozenset(LOT_RELEASABLE),
            "released",
            _("Release"),
            guard=_lot_full_release,
            source=SRC_RELEASE,
            effects="QA's e-signed release; the lot's doses are released.",
        ),
        Transition(
            "release_conditional",
            frozenset(LOT_RELEASABLE),
            "conditionally_released",
            _("Release conditionally"),
            guard=_lot_conditional_release,
            source=SRC_FRESH_RELEASE,
            effects="QA's e-signed release; the doses are released; a positive culture recalls.",
        ),
        Transition(
            "confirm_sterility",
            frozenset({"conditionally_released"}),
            "released",
            _("Confirm sterility"),
            guard=_lot_sterility_confirmed,
            source=SRC_FRESH_RELEASE,
            effects="Recorded automatically when the final sterility result is negative.",
        ),
        Transition(
            "lift_quarantine",
            frozenset({"quarantined"}),
            "qc_pending",
            _("Lift quarantine"),
            guard=_lot_deviations_closed,
            source=SRC_DEVIATION,
            effects="The lot returns to QC; held doses stay held until QA lifts each hold.",
        ),
        Transition(
            "reject",
            frozenset(
                {"in_culture", "qc_pending", "quarantined", "released", "conditionally_released"}
            ),
            "rejected",
            _("Reject"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="Every unused dose of the lot is recalled.",
        ),
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
    """A dose is used only while QA's release of its lot stands (a positive culture or a
    quarantine of the lot blocks every dose)."""
    if dose.lot.status not in ("released", "conditionally_released"):
        return _("The lot has not been released by QA.")
    return None


def _dose_thaw_ok(dose: Any, ctx: dict[str, Any]) -> Any:
    """Thaw is recorded with post-thaw viability and a use-by time; the lot must still be
    released and the bag within its expiry."""
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
    within specification, may be given."""
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


DOSE = Lifecycle(
    name="dose",
    model="processing.Dose",
    title=_("Dose"),
    states=tuple(Dose.Status.choices),
    transitions=(
        Transition(
            "release",
            frozenset({"quarantine"}),
            "released",
            _("Release"),
            guard=_dose_lot_released,
            source=SRC_DOSE_RELEASE,
            effects="Done with the lot's release.",
        ),
        Transition(
            "ship",
            frozenset({"released"}),
            "shipped",
            _("Ship"),
            guard=_dose_lot_released,
            source=SRC_DOSE_RELEASE,
            effects="Custody hand-over to transport, with temperature logging.",
        ),
        Transition(
            "receive",
            frozenset({"shipped"}),
            "received",
            _("Receive at the clinic"),
            effects="Custody hand-over to the clinic (DIN and COI scanned).",
        ),
        Transition(
            "thaw",
            frozenset({"released", "received"}),
            "thawed",
            _("Thaw"),
            guard=_dose_thaw_ok,
            source=SRC_POST_THAW,
            effects="Post-thaw viability is recorded as a QC result; the use-by time starts.",
        ),
        Transition(
            "administer",
            frozenset({"thawed"}),
            "administered",
            _("Administer"),
            guard=_dose_administrable,
            source=SRC_POST_THAW,
            effects="Recorded by the verified infusion; a dose is given at most once.",
        ),
        Transition(
            "hold",
            frozenset({"released", "shipped", "received", "thawed"}),
            "quarantine",
            _("Return to quarantine"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="Done when the lot is quarantined.",
        ),
        Transition(
            "place_on_hold",
            DOSE_USABLE,
            "on_hold",
            _("Place on hold"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="A hold records the status to return to; QA decides.",
        ),
        Transition(
            "lift_hold",
            frozenset({"on_hold"}),
            "released",
            _("Lift the hold"),
            guard=_dose_hold_liftable,
            source=SRC_DOSE_RELEASE,
            effects="The bag returns to the status it had when held.",
            targets=DOSE_USABLE - {"released"},
        ),
        Transition(
            "discard",
            DOSE_IN_STOCK,
            "discarded",
            _("Discard"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="A released bag needs a second person's confirmation.",
        ),
        Transition(
            "recall",
            DOSE_IN_STOCK,
            "recalled",
            _("Recall"),
            guard=_reason_given,
            source=SRC_ALCOA,
            effects="Done when the lot is rejected or its culture turns positive.",
        ),
    ),
)


# --- Deviation ---------------------------------------------------------------------------------


def _deviation_documented(deviation: Any, ctx: dict[str, Any]) -> Any:
    """A deviation is closed only with its investigation, impact assessment and CAPA written
    down."""
    missing = tuple(n for n in ("investigation", "impact", "capa") if not getattr(deviation, n))
    if missing:
        return Refusal(
            _("Document the investigation, impact and CAPA before closing."),
            code="deviation_incomplete",
            fields=missing,
        )
    return None


DEVIATION = Lifecycle(
    name="deviation",
    model="processing.Deviation",
    title=_("Deviation"),
    states=tuple(Deviation.Status.choices),
    transitions=(
        Transition(
            "investigate",
            frozenset({"open"}),
            "investigating",
            _("Start the investigation"),
        ),
        Transition(
            "start_capa",
            frozenset({"open", "investigating"}),
            "capa",
            _("Start CAPA"),
        ),
        Transition(
            "close",
            frozenset({"open", "investigating", "capa"}),
            "closed",
            _("Close"),
            roles=frozenset(permissions.DEVIATION_CLOSE.roles),
            guard=_deviation_documented,
            source=SRC_DEVIATION,
            effects="Closing lets a quarantined lot return to QC and a lot be released.",
        ),
    ),
)

# The move that reaches each status, for services that are asked for a status.
DEVIATION_MOVE_TO = {t.target: t.name for t in DEVIATION.transitions}

LIFECYCLES = [LOT, DOSE, DEVIATION]
