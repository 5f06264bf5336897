"""Reporting deadlines under ASRM: a rule table with citations, and the day-counting that applies it.

Day counting follows the Civil Code (Act No. 89 of 1896) unless a rule says otherwise:

* Art. 140 — a period in days does not count the day it starts from, so "within 7 days of
  becoming aware" makes the day after awareness day 1 and the deadline ``aware_date + 7``.
* Art. 141 — the period ends at the end of its last day, so ``due_date`` is still on time.
* Art. 143 — periods in years run by the calendar and end the day before the matching day; if
  that month has no matching day (a Feb 29 start in a common year) they end on its last day.
* Where ASRM says "counting from" a date (起算して), that date itself is day 1; this governs
  the yearly periodic-report periods, the 60-day batches and the Class I 90-day wait.

Whether a deadline on a weekend or holiday moves is not settled by the facts sheet. Civil Code
Art. 142 moves it only where business is customarily closed, and the Act on Holidays of
Administrative Organs (Act No. 91 of 1988) Art. 2 moves filings *to an authority* to the next
open day. Both are off by default (``DeadlineConfig.roll_forward_recipients``): a due date
that never moves later can only be early, never late.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import jpholiday
from django.utils.translation import gettext, gettext_noop

from .common import DomainError

__all__ = [
    "DEADLINE_RULES",
    "BatchWindow",
    "DeadlineConfig",
    "DeadlineRule",
    "Due",
    "Recipient",
    "ReportingPeriod",
    "Seriousness",
    "add_days",
    "change_notice_due",
    "class1_first_provision_day",
    "discontinuation_notice_due",
    "facility_change_notice_due",
    "facility_report_periods",
    "is_administrative_holiday",
    "licence_renewal_due",
    "periodic_report_periods",
    "reporting_clock",
    "sixty_day_window",
]


class Recipient(StrEnum):
    COMMITTEE = "committee"
    # The Minister (Class I) or the Regional Bureau of Health and Welfare (Classes II and III).
    MINISTRY = "ministry"
    PROCESSING_FACILITY = "processing_facility"


class Seriousness(StrEnum):
    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    OTHER_SERIOUS = "other_serious"
    NON_SERIOUS = "non_serious"


SEVEN_DAY = frozenset({Seriousness.DEATH, Seriousness.LIFE_THREATENING})
FIFTEEN_DAY = frozenset(
    {
        Seriousness.HOSPITALISATION,
        Seriousness.DISABILITY,
        Seriousness.CONGENITAL_ANOMALY,
        Seriousness.OTHER_SERIOUS,
    }
)


@dataclass(frozen=True)
class DeadlineConfig:
    """Items the facts sheet leaves uncertain (⚠), each with the default that is never late."""

    # Civil Code Art. 140 excludes the first day; set True only if counsel reads a rule otherwise.
    count_first_day: bool = False
    # Recipients whose deadlines move to the next open day when they fall on a weekend, national
    # holiday or Dec 29–Jan 3 (Act on Holidays of Administrative Organs Art. 1–2 for MINISTRY).
    roll_forward_recipients: frozenset[Recipient] = frozenset()
    # Extra closed days (e.g. a committee's own closure) honoured when rolling forward.
    extra_closed_days: frozenset[date] = frozenset()
    # ⚠ Believed, not read, that the 7/15-day categories also go to the Minister (Reg. Art. 36).
    report_adverse_events_to_ministry: bool = True
    # ⚠ Whether Class III differs was not verified; drop 3 here if counsel confirms it does.
    ministry_report_risk_classes: frozenset[int] = frozenset({1, 2, 3})
    # The processor must be told "promptly"; no number of days is given, so this is a house target.
    processing_facility_notice_days: int = 3
    # ⚠ No source found for when the committee must be told of a minor change/discontinuation.
    committee_notice_days: int = 10
    # The 60-day batches and yearly periods count the anchor date as day 1 (起算して).
    anchor_day_is_day_one: bool = True
    # When provision stops, the last periodic report covers only up to ``until`` (ASRM Art. 20–21).
    truncate_final_period: bool = True
    # Class I provision restriction period (ASRM Art. 8–10); ⚠ whether MHLW may shorten it was not confirmed.
    class1_waiting_days: int = 90
    # ⚠ The processing facility's yearly report on its manufacturing (別紙様式第8): no deadline
    # or period was found. Until counsel confirms them, each year runs from the day the
    # facility's licence, notification or accreditation took effect, and the report is due this
    # many days after the year ends (the plan report's 90 days, by analogy, not by source).
    facility_report_days: int = 90
    # Set to a month (e.g. 4 for April) if the report turns out to follow the fiscal year.
    facility_report_fiscal_year_start_month: int | None = None
    # ⚠ A processing facility's change notice: the article and period were not read in the
    # Enforcement Regulation. House default: notify within 30 days of the change.
    facility_change_notice_days: int = 30
    # ⚠ A licence or accreditation lapses unless renewed (ASRM Art. 36(1)); the period and how
    # long before expiry to apply were not verified. House default: apply 90 days before expiry.
    licence_renewal_lead_days: int = 90


@dataclass(frozen=True)
class DeadlineRule:
    """One legal deadline: who receives what, within how many days, and why."""

    id: str
    recipient: Recipient
    days: int | None
    text: str
    source: str


SRC_AE_COMMITTEE = "ASRM Art. 17; Enforcement Regulation Art. 35 (別紙様式第1)"
SRC_AE_MINISTRY = "ASRM Art. 18; Enforcement Regulation Art. 36 (別紙様式第2) ⚠ unverified"
SRC_AE_FACILITY = (
    "Enforcement Regulation Art. 35 (notice to the cell processor, as committees summarise it)"
)
SRC_PERIODIC = (
    "ASRM Art. 20–21 (別紙様式第3): yearly, counted from the day the plan was submitted "
    "(提出した日; https://crm.npo-hifu.net/定期報告 ; "
    "https://hiro-clinic.or.jp/saisei/procedure/?lang=en); Civil Code Art. 143"
)
SRC_FACILITY_REPORT = (
    "ASRM Ch. IV, periodic report of a manufacturer of specified processed cells "
    "(特定細胞加工物製造状況定期報告, 別紙様式第8; https://crm.npo-hifu.net/定期報告); "
    "⚠ article, period and deadline not verified: configurable house default"
)
SRC_MINOR_CHANGE = "ASRM Art. 5(3) (様式第3)"
SRC_FACILITY_CHANGE = (
    "ASRM Art. 35, 39 (licence, accreditation) and Art. 40 (notification), with the Enforcement "
    "Regulation (MHLW Ordinance No. 110 of 2014): a change to what was licensed or notified is "
    "notified to the Regional Bureau; ⚠ article and period not verified: configurable house default"
)
SRC_LICENCE_RENEWAL = (
    "ASRM Art. 36(1) and Enforcement Order (Cabinet Order No. 278 of 2014): a licence lapses "
    "unless renewed within the period the Order sets; ⚠ period and application lead time not "
    "verified: configurable house default"
)
SRC_DISCONTINUATION = "ASRM Art. 6 (様式第4)"

DEADLINE_RULES: dict[str, DeadlineRule] = {
    rule.id: rule
    for rule in (
        DeadlineRule(
            "AE-COMMITTEE-7D",
            Recipient.COMMITTEE,
            7,
            gettext_noop("Report a death or a case that may lead to death to the committee."),
            SRC_AE_COMMITTEE,
        ),
        DeadlineRule(
            "AE-COMMITTEE-15D",
            Recipient.COMMITTEE,
            15,
            gettext_noop("Report a serious adverse event to the committee."),
            SRC_AE_COMMITTEE,
        ),
        DeadlineRule(
            "AE-COMMITTEE-60D-BATCH",
            Recipient.COMMITTEE,
            10,
            gettext_noop(
                "Report the other suspected adverse events of a 60-day window to the committee."
            ),
            SRC_AE_COMMITTEE,
        ),
        DeadlineRule(
            "AE-MINISTRY-7D",
            Recipient.MINISTRY,
            7,
            gettext_noop("Report a death or a case that may lead to death to the Minister."),
            SRC_AE_MINISTRY,
        ),
        DeadlineRule(
            "AE-MINISTRY-15D",
            Recipient.MINISTRY,
            15,
            gettext_noop("Report a serious adverse event to the Minister."),
            SRC_AE_MINISTRY,
        ),
        DeadlineRule(
            "AE-FACILITY-PROMPT",
            Recipient.PROCESSING_FACILITY,
            None,
            gettext_noop(
                "Tell the cell processing facility promptly what happened and what was done."
            ),
            SRC_AE_FACILITY,
        ),
        DeadlineRule(
            "PERIODIC-REPORT",
            Recipient.MINISTRY,
            90,
            gettext_noop(
                "File the yearly periodic report, with the committee's opinion, even if no patient was treated."
            ),
            SRC_PERIODIC,
        ),
        DeadlineRule(
            "FACILITY-YEARLY-REPORT",
            Recipient.MINISTRY,
            None,
            gettext_noop(
                "File the processing facility's yearly report on its manufacturing (別紙様式第8)."
            ),
            SRC_FACILITY_REPORT,
        ),
        DeadlineRule(
            "MINOR-CHANGE-NOTICE",
            Recipient.MINISTRY,
            10,
            gettext_noop("Notify a minor change to the plan."),
            SRC_MINOR_CHANGE,
        ),
        DeadlineRule(
            "MINOR-CHANGE-COMMITTEE",
            Recipient.COMMITTEE,
            None,
            gettext_noop("Inform the committee of a minor change to the plan."),
            SRC_MINOR_CHANGE,
        ),
        DeadlineRule(
            "FACILITY-CHANGE-NOTICE",
            Recipient.MINISTRY,
            None,
            gettext_noop("Notify the change to the processing facility."),
            SRC_FACILITY_CHANGE,
        ),
        DeadlineRule(
            "FACILITY-LICENCE-RENEWAL",
            Recipient.MINISTRY,
            None,
            gettext_noop("Apply to renew the processing facility's licence before it expires."),
            SRC_LICENCE_RENEWAL,
        ),
        DeadlineRule(
            "DISCONTINUATION-NOTICE",
            Recipient.MINISTRY,
            10,
            gettext_noop("Notify that provision under the plan has stopped."),
            SRC_DISCONTINUATION,
        ),
        DeadlineRule(
            "DISCONTINUATION-COMMITTEE",
            Recipient.COMMITTEE,
            None,
            gettext_noop("Inform the committee that provision under the plan has stopped."),
            SRC_DISCONTINUATION,
        ),
    )
}


@dataclass(frozen=True)
class Due:
    """One dated obligation produced by a rule."""

    recipient: Recipient
    due_date: date
    rule: str
    source: str

    @property
    def text(self) -> str:
        return gettext(DEADLINE_RULES[self.rule].text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient.value,
            "due_date": self.due_date,
            "rule": self.rule,
            "source": self.source,
        }


@dataclass(frozen=True)
class BatchWindow:
    """A 60-day window for batching non-serious events; ``index`` 0 starts on the submission date."""

    index: int
    start: date
    end: date
    due_date: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "due_date": self.due_date,
        }


@dataclass(frozen=True)
class ReportingPeriod:
    """One periodic-report year (``index`` 1 is the first) and when its report is due."""

    index: int
    start: date
    end: date
    due_date: date
    rule: str = "PERIODIC-REPORT"
    source: str = SRC_PERIODIC
    truncated: bool = field(default=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "due_date": self.due_date,
            "rule": self.rule,
            "source": self.source,
            "truncated": self.truncated,
        }


def is_administrative_holiday(
    day: date, *, extra_closed_days: frozenset[date] = frozenset()
) -> bool:
    """True on weekends, national holidays and Dec 29–Jan 3 (Act on Holidays of Administrative Organs Art. 1)."""
    return (
        day.weekday() >= 5
        or bool(jpholiday.is_holiday(day))
        or (day.month == 12 and day.day >= 29)
        or (day.month == 1 and day.day <= 3)
        or day in extra_closed_days
    )


def add_days(
    start: date, days: int, *, recipient: Recipient, config: DeadlineConfig | None = None
) -> date:
    """Last day of a period of ``days`` days that starts after ``start`` (Civil Code Art. 140–142)."""
    cfg = config or DeadlineConfig()
    if days < 1:
        raise DomainError("deadline.invalid_days", gettext("A deadline must be at least one day."))
    due = start + timedelta(days=days - 1 if cfg.count_first_day else days)
    if recipient in cfg.roll_forward_recipients:
        while is_administrative_holiday(due, extra_closed_days=cfg.extra_closed_days):
            due += timedelta(days=1)
    return due


def _due(rule_id: str, start: date, config: DeadlineConfig, days: int | None = None) -> Due:
    rule = DEADLINE_RULES[rule_id]
    span = days if days is not None else rule.days
    assert span is not None  # every caller passes days for rules without a fixed number
    return Due(
        recipient=rule.recipient,
        due_date=add_days(start, span, recipient=rule.recipient, config=config),
        rule=rule.id,
        source=rule.source,
    )


def sixty_day_window(
    *, plan_submitted_date: date, event_date: date, config: DeadlineConfig | None = None
) -> BatchWindow:
    """The 60-day window, counted from the plan's submission date, that batches this event (Reg. Art. 35)."""
    cfg = config or DeadlineConfig()
    first = (
        plan_submitted_date
        if cfg.anchor_day_is_day_one
        else plan_submitted_date + timedelta(days=1)
    )
    if event_date < first:
        raise DomainError(
            "deadline.event_before_plan",
            gettext("The event date is before the plan was submitted."),
            fields={"event_date": [event_date.isoformat()]},
        )
    index = (event_date - first).days // 60
    start = first + timedelta(days=60 * index)
    end = start + timedelta(days=59)
    rule = DEADLINE_RULES["AE-COMMITTEE-60D-BATCH"]
    assert rule.days is not None
    due = add_days(end, rule.days, recipient=rule.recipient, config=cfg)
    return BatchWindow(index=index, start=start, end=end, due_date=due)


def reporting_clock(
    *,
    seriousness: Seriousness | str,
    aware_date: date,
    plan_submitted_date: date,
    config: DeadlineConfig | None = None,
    risk_class: int | None = None,
) -> list[Due]:
    """Every report an adverse event triggers and its due date, counted from the day staff became aware.

    ``risk_class`` only matters if ``config.ministry_report_risk_classes`` excludes a class.
    """
    cfg = config or DeadlineConfig()
    try:
        level = Seriousness(seriousness)
    except ValueError:
        raise DomainError(
            "deadline.invalid_seriousness",
            gettext("Unknown seriousness. Allowed: {allowed}.").format(
                allowed=", ".join(s.value for s in Seriousness)
            ),
            fields={"seriousness": [str(seriousness)]},
        ) from None
    to_ministry = cfg.report_adverse_events_to_ministry and (
        risk_class is None or risk_class in cfg.ministry_report_risk_classes
    )
    dues: list[Due] = []
    if level in SEVEN_DAY:
        dues.append(_due("AE-COMMITTEE-7D", aware_date, cfg))
        if to_ministry:
            dues.append(_due("AE-MINISTRY-7D", aware_date, cfg))
    elif level in FIFTEEN_DAY:
        dues.append(_due("AE-COMMITTEE-15D", aware_date, cfg))
        if to_ministry:
            dues.append(_due("AE-MINISTRY-15D", aware_date, cfg))
    else:
        window = sixty_day_window(
            plan_submitted_date=plan_submitted_date, event_date=aware_date, config=cfg
        )
        rule = DEADLINE_RULES["AE-COMMITTEE-60D-BATCH"]
        dues.append(Due(rule.recipient, window.due_date, rule.id, rule.source))
    dues.append(_due("AE-FACILITY-PROMPT", aware_date, cfg, cfg.processing_facility_notice_days))
    return sorted(dues, key=lambda d: (d.due_date, d.recipient.value))


def _year_end(commencement: date, years: int) -> date:
    """Civil Code Art. 143(2): the day before the matching day ``years`` later, or that month's last day."""
    year = commencement.year + years
    try:
        matching = commencement.replace(year=year)
    except ValueError:  # Feb 29 start, common year: no matching day, so the period ends Feb 28
        return date(year, 2, 28)
    return matching - timedelta(days=1)


def _yearly_periods(
    *,
    commencement: date,
    until: date,
    days: int,
    rule: str,
    source: str,
    recipient: Recipient,
    config: DeadlineConfig,
    fiscal_start_month: int | None = None,
) -> list[ReportingPeriod]:
    """Consecutive yearly periods from ``commencement`` to ``until``, each due ``days`` after it ends.

    Years run by the calendar from the commencement (Civil Code Art. 143), or, with
    ``fiscal_start_month``, end the day before each fiscal year starts (the first one is short).
    """
    periods: list[ReportingPeriod] = []
    start = commencement
    index = 1
    while start <= until:
        if fiscal_start_month is None:
            end = _year_end(commencement, index)
        else:
            next_start = date(start.year, fiscal_start_month, 1)
            if next_start <= start:
                next_start = date(start.year + 1, fiscal_start_month, 1)
            end = next_start - timedelta(days=1)
        truncated = config.truncate_final_period and end > until
        if truncated:
            end = until
        periods.append(
            ReportingPeriod(
                index=index,
                start=start,
                end=end,
                due_date=add_days(end, days, recipient=recipient, config=config),
                rule=rule,
                source=source,
                truncated=truncated,
            )
        )
        start = end + timedelta(days=1)
        index += 1
    return periods


def periodic_report_periods(
    *, submitted_date: date, until: date, config: DeadlineConfig | None = None
) -> list[ReportingPeriod]:
    """The yearly periods from the plan's submission to ``until`` (end of follow-up), with due dates.

    Counted from the day the plan was submitted to the authority (提出した日), not from its
    acceptance, so a slow acceptance never pushes a report late. A report is due for every
    period even when no patient was treated (ASRM Art. 20–21).
    """
    cfg = config or DeadlineConfig()
    rule = DEADLINE_RULES["PERIODIC-REPORT"]
    assert rule.days is not None
    commencement = (
        submitted_date if cfg.anchor_day_is_day_one else submitted_date + timedelta(days=1)
    )
    return _yearly_periods(
        commencement=commencement,
        until=until,
        days=rule.days,
        rule=rule.id,
        source=rule.source,
        recipient=rule.recipient,
        config=cfg,
    )


def facility_report_periods(
    *, authorised_from: date, until: date, config: DeadlineConfig | None = None
) -> list[ReportingPeriod]:
    """The processing facility's yearly manufacturing-report periods (別紙様式第8), with due dates.

    ⚠ Period and deadline are configuration (``facility_report_days``, and the fiscal-year
    option): the facts behind them were not found. A facility in its first year already has
    its first period, which ends on the first anniversary of its authorisation.
    """
    cfg = config or DeadlineConfig()
    rule = DEADLINE_RULES["FACILITY-YEARLY-REPORT"]
    if cfg.facility_report_days < 1:
        raise DomainError("deadline.invalid_days", gettext("A deadline must be at least one day."))
    month = cfg.facility_report_fiscal_year_start_month
    if month is not None and not 1 <= month <= 12:
        raise DomainError(
            "deadline.invalid_month", gettext("The fiscal year must start in a month from 1 to 12.")
        )
    commencement = (
        authorised_from if cfg.anchor_day_is_day_one else authorised_from + timedelta(days=1)
    )
    return _yearly_periods(
        commencement=commencement,
        until=until,
        days=cfg.facility_report_days,
        rule=rule.id,
        source=rule.source,
        recipient=rule.recipient,
        config=cfg,
        fiscal_start_month=cfg.facility_report_fiscal_year_start_month,
    )


def change_notice_due(*, change_date: date, config: DeadlineConfig | None = None) -> list[Due]:
    """Notices a minor change triggers: the authority within 10 days, and the committee (ASRM Art. 5(3))."""
    cfg = config or DeadlineConfig()
    return [
        _due("MINOR-CHANGE-NOTICE", change_date, cfg),
        _due("MINOR-CHANGE-COMMITTEE", change_date, cfg, cfg.committee_notice_days),
    ]


def facility_change_notice_due(*, change_date: date, config: DeadlineConfig | None = None) -> Due:
    """The notice a change to a processing facility triggers (days configurable, ⚠)."""
    cfg = config or DeadlineConfig()
    return _due("FACILITY-CHANGE-NOTICE", change_date, cfg, cfg.facility_change_notice_days)


def licence_renewal_due(*, valid_until: date, config: DeadlineConfig | None = None) -> Due:
    """The last day to apply for renewal: a lead time before the licence expires (⚠ configurable)."""
    cfg = config or DeadlineConfig()
    rule = DEADLINE_RULES["FACILITY-LICENCE-RENEWAL"]
    return Due(
        recipient=rule.recipient,
        due_date=valid_until - timedelta(days=cfg.licence_renewal_lead_days),
        rule=rule.id,
        source=rule.source,
    )


def discontinuation_notice_due(
    *, discontinued_date: date, config: DeadlineConfig | None = None
) -> list[Due]:
    """Notices stopping provision triggers: the authority within 10 days, and the committee (ASRM Art. 6)."""
    cfg = config or DeadlineConfig()
    return [
        _due("DISCONTINUATION-NOTICE", discontinued_date, cfg),
        _due("DISCONTINUATION-COMMITTEE", discontinued_date, cfg, cfg.committee_notice_days),
    ]


def class1_first_provision_day(
    *, submitted_date: date, config: DeadlineConfig | None = None
) -> date:
    """First day a Class I plan (or its non-minor change) may be used: 90 days counted from filing have passed.

    ASRM Art. 8–10; the filing day is day 1 of the count (起算して), so day 91 is the first allowed.
    """
    cfg = config or DeadlineConfig()
    offset = cfg.class1_waiting_days if cfg.anchor_day_is_day_one else cfg.class1_waiting_days + 1
    return submitted_date + timedelta(days=offset)
