"""Safety's lifecycles: a portal report waits for triage, then becomes an adverse event or is
closed with a reason. Declared with the core workflow engine; the triage service moves reports
only through this table."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from saisei.core.workflow import Lifecycle, Transition

from .models import PatientReport

PATIENT_REPORT = Lifecycle(
    name="patient_report",
    model="safety.PatientReport",
    title=_("Patient report"),
    states=tuple(PatientReport.Status.choices),
    transitions=(
        Transition(
            "record_adverse_event",
            frozenset({"new"}),
            "adverse_event",
            _("Record as an adverse event"),
            source="ASRM Art. 17–18; Enforcement Regulation Art. 35 (clock from awareness)",
            effects=(
                "Creates the adverse event, aware from the report's submission time, which "
                "starts its reporting clocks."
            ),
        ),
        Transition(
            "close_not_adverse_event",
            frozenset({"new"}),
            "not_adverse_event",
            _("Close: not an adverse event"),
            effects="The triage note says why (required).",
        ),
    ),
)

#: The move each triage decision makes.
TRIAGE_MOVES = {
    "adverse_event": "record_adverse_event",
    "not_adverse_event": "close_not_adverse_event",
}

LIFECYCLES = [PATIENT_REPORT]
