"""The processing facility's yearly report on its manufacturing (特定細胞加工物製造状況定期報告,
別紙様式第8), filled from the facility's lots and deviations in the report period.

The subject is the facility's yearly-report obligation (regulatory, since issue 10), which holds
the period. ⚠ The form's contents were not verified (rules.forms): the annex follows what the
sources describe, lots made per plan and their fate, and deviations by severity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from saisei.core.errors import NotFound
from saisei.core.registry import FormContent, FormTable, OfficialForm, ReportScope
from saisei.core.selectors import get_scoped
from saisei.core.timezones import today_tokyo
from saisei.processing.models import Deviation, Lot
from saisei.regulatory import permissions
from saisei.regulatory.filings import facility_number, item, jdate
from saisei.regulatory.selectors import facility_report_obligations

if TYPE_CHECKING:
    from saisei.regulatory.models import Obligation

SEVERITY_JA = {"minor": "軽微", "major": "重大", "critical": "致命的"}


def _resolve(actor: Any, external_id: str) -> Obligation:
    if not permissions.can_view_forms(actor):
        raise NotFound()
    return get_scoped(facility_report_obligations(actor=actor), external_id)


def _build(obligation: Obligation, params: dict[str, Any]) -> FormContent:
    facility = obligation.facility
    assert facility is not None
    registry = reverse("regulatory:registry")
    start, end = obligation.period_start, obligation.period_end
    rows: list[list[str]] = []
    deviations: dict[str, int] = {}
    if start and end:
        scope = ReportScope(plan=None, start=start, end=end)
        lots = (
            Lot.objects.filter(
                donation__facility=facility,
                voided_at__isnull=True,
                started_on__gte=start,
                started_on__lte=end,
            )
            .select_related("donation__plan")
            .order_by("donation__plan__plan_number", "number")
        )
        per_plan: dict[str, dict[str, int]] = {}
        for lot in lots:
            plan = lot.donation.plan
            key = f"{plan.plan_number or '—'} {plan.title}" if plan else "—"
            counts = per_plan.setdefault(key, {"made": 0, "released": 0, "rejected": 0})
            counts["made"] += 1
            if lot.status in (Lot.Status.RELEASED, Lot.Status.CONDITIONALLY_RELEASED):
                counts["released"] += 1
            if lot.status == Lot.Status.REJECTED:
                counts["rejected"] += 1
        rows = [
            [key, str(c["made"]), str(c["released"]), str(c["rejected"])]
            for key, c in per_plan.items()
        ]
        s, e = scope.datetime_range()
        for severity in Deviation.objects.filter(
            lot__donation__facility=facility,
            voided_at__isnull=True,
            opened_at__gte=s,
            opened_at__lt=e,
        ).values_list("severity", flat=True):
            deviations[str(severity)] = deviations.get(str(severity), 0) + 1
    period = f"{jdate(start)}〜{jdate(end)}" if start and end else ""
    return FormContent(
        title="特定細胞加工物製造状況定期報告書",
        addressee="地方厚生局長 殿",
        subject_label=f"{facility.facility_number} {facility.name} {period}",
        plan=None,
        items=[
            item("1", "細胞培養加工施設の名称", facility.name_ja or facility.name, fix=registry),
            item(
                "2",
                "施設番号（届出・許可・認定の別）",
                facility_number(facility, today_tokyo()),
                fix=registry,
            ),
            item("3", "施設管理者の氏名", facility.manager_name, fix=registry),
            item("4", "報告期間", period),
            item("5", "製造した特定細胞加工物（別表1のとおり）", "別表1のとおり"),
            item(
                "6",
                "逸脱の件数",
                f"{sum(deviations.values())}件",
            ),
        ],
        tables=[
            FormTable(
                title="別表1 再生医療等提供計画ごとの製造状況",
                columns=["提供計画（計画番号・名称）", "製造ロット数", "出荷判定合格", "不適合"],
                rows=rows,
            ),
            FormTable(
                title="別表2 逸脱の重大度別件数",
                columns=["重大度", "件数"],
                rows=[[SEVERITY_JA.get(k, k), str(v)] for k, v in sorted(deviations.items())],
            ),
        ],
    )


FORMS = [OfficialForm("cpc_yearly", "Processing facility yearly report", 70, _resolve, _build)]
