"""Treatment's lifecycles: an infusion record is open while the dose runs, then completed or
stopped early. Declared with the core workflow engine; ``administration_end`` moves records
only through this table."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from saisei.core.workflow import Lifecycle, Transition

from .models import Administration

ADMINISTRATION = Lifecycle(
    name="administration",
    model="treatment.Administration",
    title=_("Administration"),
    states=tuple(Administration.Status.choices),
    transitions=(
        Transition(
            "complete",
            frozenset({"in_progress"}),
            "completed",
            _("Complete"),
            source="ASRM Art. 16 (record of provision)",
            effects="Records the end time and the observations.",
        ),
        Transition(
            "stop",
            frozenset({"in_progress"}),
            "stopped",
            _("Stop early"),
            source="ASRM Art. 16 (record of provision)",
            effects="Records the end time, the observations and why it was stopped (required).",
        ),
    ),
)

LIFECYCLES = [ADMINISTRATION]
