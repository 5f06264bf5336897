"""Factories for safety records (tests only).

Adverse events and patient reports are regulated records: the factories create them through their
services, as the clinic does, so each one starts its legal clocks and alerts like a real one.
"""

from __future__ import annotations

from typing import Any

import factory
from django.utils import timezone

from saisei.core.timezones import TOKYO
from saisei.safety import services
from saisei.safety.models import AdverseEvent, PatientReport


class AdverseEventFactory(factory.Factory):
    """Pass ``actor`` (a physician) and ``patient``; everything else reads as a plausible event."""

    class Meta:
        model = AdverseEvent

    term = "Pulmonary embolism"
    onset_date = factory.LazyFunction(lambda: timezone.localdate(timezone=TOKYO))
    severity_grade = 4

    @classmethod
    def _create(cls, model_class: type[AdverseEvent], *args: Any, **kwargs: Any) -> AdverseEvent:
        return services.adverse_event_record(**kwargs)


class PatientReportFactory(factory.Factory):
    """Pass ``patient``; a family member reports a moderate problem from the portal."""

    class Meta:
        model = PatientReport

    reporter = PatientReport.Reporter.CAREGIVER
    description = "My mother has had a fever since last night."
    how_bad = PatientReport.HowBad.MODERATE

    @classmethod
    def _create(cls, model_class: type[PatientReport], *args: Any, **kwargs: Any) -> PatientReport:
        return services.patient_report_submit(**kwargs)
