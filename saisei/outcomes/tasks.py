"""Background tasks for outcomes; they only call services."""

from __future__ import annotations

from django_tasks import task

from saisei.outcomes import services


@task()
def send_assessment_reminders() -> int:
    """Daily: remind physicians and nurses of outcome visits due within a week or overdue."""
    return services.reminders_send()


@task()
def refresh_cohort_fit(*, plan_id: int, measure: str) -> str:
    """Compute one plan's cohort summary and store it; the cohort page and API read the result."""
    return services.cohort_summary_refresh(plan_id=plan_id, measure=measure).fingerprint
