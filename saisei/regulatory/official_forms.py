"""The forms about plans: the plan itself (様式第1の2), changes (様式第2, 第3), discontinuation
(様式第4) and the yearly periodic report (別紙様式第3). Item labels are the forms' own words."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from saisei.core.display import route_label
from saisei.core.errors import NotFound
from saisei.core.registry import FormContent, FormItem, FormTable, OfficialForm
from saisei.core.selectors import get_scoped
from saisei.regulatory import permissions
from saisei.regulatory.filings import facility_number, item, jdate, yen
from saisei.regulatory.models import (
    PeriodicReport,
    PlanTransition,
    PlanVersion,
    ProvisionPlan,
    StandardDocument,
    today_tokyo,
)
from saisei.regulatory.reports import render_value
from saisei.regulatory.rules.classification import CLASSIFICATION_RULES

ORIGIN_JA = {"autologous": "自己", "allogeneic": "同種（他家）", "xenogeneic": "異種"}
CLASS_JA = {1: "第一種再生医療等", 2: "第二種再生医療等", 3: "第三種再生医療等"}


def _edit(version: PlanVersion) -> str:
    """A draft is edited in place; a filed version changes only through a recorded change."""
    if version.state != "draft":
        return reverse("regulatory:plan_detail", kwargs={"external_id": version.plan.external_id})
    return reverse(
        "regulatory:plan_version_edit",
        kwargs={"external_id": version.plan.external_id, "version_id": version.external_id},
    )


def _registry() -> str:
    return reverse("regulatory:registry")


def _facilities_url(version: PlanVersion) -> str:
    return reverse("regulatory:standard_documents")


def _submitter(plan: ProvisionPlan, version: PlanVersion | None) -> list[FormItem]:
    inst = plan.institution
    admin = (version.administrator_name if version else "") or inst.administrator_name
    return [
        item("0-1", "医療機関の名称", inst.name_ja or inst.name, fix=_registry()),
        item("0-2", "医療機関の所在地", inst.address, fix=_registry()),
        item("0-3", "管理者の氏名", admin, fix=_registry()),
    ]


def _standard_for(facility: Any, plan: ProvisionPlan) -> str:
    day = today_tokyo()
    docs = [
        d
        for d in facility.standard_documents.all()
        if d.kind == StandardDocument.Kind.STANDARD
        and d.plan_id == plan.pk
        and d.effective_from <= day
        and d.voided_at is None
    ]
    if not docs:
        return ""
    doc = max(docs, key=lambda d: (d.effective_from, d.pk))
    return f"{doc.document_number} 第{doc.version}版（{jdate(doc.effective_from)}施行）"


def plan_items(version: PlanVersion) -> list[FormItem]:
    """The items of 様式第1の2 in the form's order, read from one plan version."""
    return [
        *_submitter(version.plan, version),
        *_treatment_items(version),
        *_facility_items(version),
        *_administration_items(version),
    ]


def _treatment_items(version: PlanVersion) -> list[FormItem]:
    """Items 1 to 3: the treatment, its class, the physicians and the cells."""
    plan = version.plan
    edit = _edit(version)
    texts = {rule.id: rule.text for rule in CLASSIFICATION_RULES}
    reasons = "；".join(
        gettext(texts[r["rule"]])
        for r in version.classification_reasons or []
        if r.get("rule") in texts
    )
    risk = version.computed_risk_class or version.declared_risk_class
    physicians = list(version.physicians.all())
    responsible = version.responsible_physician
    return [
        item("1-1", "再生医療等の名称", version.treatment_name, fix=edit),
        item("1-2", "再生医療等の区分", CLASS_JA.get(risk, ""), fix=edit),
        item("1-3", "区分の理由", reasons, fix=edit),
        item("1-4", "対象疾患等の名称", version.target_disease, fix=edit),
        item("1-5", "再生医療等の内容（適格基準）", version.eligibility_summary, fix=edit),
        item(
            "2-1",
            "実施責任者の氏名・所属",
            f"{responsible.name_ja or responsible.name}（医籍登録番号 {responsible.licence_number}）"
            if responsible
            else "",
            fix=edit,
        ),
        item(
            "2-2",
            "救急医療に必要な施設又は設備",
            plan.institution.emergency_capacity,
            fix=_registry(),
        ),
        item(
            "2-3",
            "再生医療等を行う医師の氏名",
            "、".join(p.name_ja or p.name for p in physicians),
            fix=edit,
        ),
        item("3-1", "特定細胞加工物の名称", version.cell_name, fix=edit),
        item("3-2", "細胞の提供者", ORIGIN_JA.get(version.cell_origin, ""), fix=edit),
        item("3-3", "細胞を採取する組織", version.tissue, fix=edit),
        item("3-4", "細胞の概要（加工の方法）", version.cell_processing_summary, fix=edit),
        item(
            "3-5",
            "細胞の特性",
            version.cell_characteristics,
            required=False,
            fix=edit,
            empty="記載なし",
        ),
    ]


def _facility_items(version: PlanVersion) -> list[FormItem]:
    """Item 4: each cell processing facility with its number and its standard's edition."""
    plan = version.plan
    facilities = list(version.facilities.all())
    if not facilities:
        return [item("4-1", "特定細胞加工物を製造する施設", "", fix=_edit(version))]
    items: list[FormItem] = []
    for n, facility in enumerate(facilities, start=1):
        items += [
            item(
                f"4-{n}",
                "特定細胞加工物を製造する施設の名称",
                facility.name_ja or facility.name,
                fix=_registry(),
            ),
            item(
                f"4-{n}a",
                "施設番号（届出・許可・認定の別）",
                facility_number(facility, today_tokyo()),
                fix=_registry(),
            ),
            item(
                f"4-{n}b",
                "標準書の版",
                _standard_for(facility, plan),
                fix=_facilities_url(version),
            ),
        ]
    return items


def _administration_items(version: PlanVersion) -> list[FormItem]:
    """Items 5 to 7: administration, the committee, cost, registration, consent, contact."""
    edit = _edit(version)
    routes = "、".join(str(route_label(r)) for r in version.routes or [])
    dose = ""
    if version.dose_min_cells and version.dose_max_cells:
        dose = f"{version.dose_min_cells:,}〜{version.dose_max_cells:,}個/回"
    committee = version.committee
    return [
        item("5-1", "投与の方法", routes, fix=edit),
        item("5-2", "投与量", dose, fix=edit),
        item(
            "5-3",
            "投与回数（上限）",
            f"{version.max_administrations}回" if version.max_administrations else "",
            fix=edit,
        ),
        item(
            "6-1",
            "認定再生医療等委員会の名称・認定番号",
            f"{committee.name_ja or committee.name}（{committee.certification_number}）"
            if committee
            else "",
            fix=edit,
        ),
        item("7-1", "患者の負担する費用", yen(version.patient_price_yen), fix=edit),
        item(
            "7-2",
            "研究の登録番号（jRCT等）",
            version.research_registration_number,
            required=False,
            fix=edit,
        ),
        item(
            "7-3",
            "説明同意文書の版",
            "、".join(str(v) for v in version.consent_document_versions or []),
            fix=edit,
        ),
        item("7-4", "事務担当者", version.contact_person, fix=edit),
        item(
            "7-5",
            "連絡先",
            " ".join(x for x in (version.contact_phone, version.contact_email) if x),
            fix=edit,
        ),
    ]


def _versions(actor: Any) -> Any:
    if not permissions.can_view_forms(actor):
        raise NotFound()
    return (
        permissions.scope_regulatory(actor, PlanVersion.objects.all())
        .select_related("plan__institution", "committee", "responsible_physician")
        .prefetch_related("physicians", "facilities__standard_documents")
    )


def _resolve_version(actor: Any, external_id: str) -> PlanVersion:
    return get_scoped(_versions(actor), external_id)


def _plan_label(plan: ProvisionPlan) -> str:
    return f"{plan.plan_number or '—'} {plan.title}"


def build_plan(version: PlanVersion, params: dict[str, Any]) -> FormContent:
    return FormContent(
        title="再生医療等提供計画",
        addressee="地方厚生局長 殿",
        subject_label=f"{_plan_label(version.plan)} v{version.number}",
        plan=version.plan,
        items=plan_items(version),
        tables=[],
    )


def _shown(value: Any) -> str:
    """A changed value as the form prints it: lists joined, numbers grouped, nothing as —."""
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, list):
        return "、".join(str(route_label(v)) if isinstance(v, str) else str(v) for v in value)
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _plan_number_item(plan: ProvisionPlan, version: PlanVersion) -> FormItem:
    return item("1", "計画番号", plan.plan_number, fix=_edit(version))


def build_change(version: PlanVersion, params: dict[str, Any]) -> FormContent:
    """様式第2: a non-minor change, filed before it takes effect with the committee's opinion."""
    from saisei.regulatory.selectors import version_diff

    plan = version.plan
    previous = (
        PlanVersion.objects.filter(plan=plan, number__lt=version.number, voided_at__isnull=True)
        .order_by("-number")
        .first()
    )
    diff = version_diff(previous, version) if previous is not None else []
    committee = version.committee
    return FormContent(
        title="再生医療等提供計画事項変更届書",
        addressee="地方厚生局長 殿",
        subject_label=f"{_plan_label(plan)} v{version.number}",
        plan=plan,
        items=[
            *_submitter(plan, version),
            _plan_number_item(plan, version),
            item("2", "再生医療等の名称", version.treatment_name, fix=_edit(version)),
            item(
                "3",
                "変更の内容",
                "；".join(str(d["label"]) for d in diff) if previous is not None else "",
                fix=_edit(version),
            ),
            item("4", "変更の理由", version.change_summary, fix=_edit(version)),
            item(
                "5",
                "認定再生医療等委員会の意見を聴いた日",
                jdate(version.opinion_date),
                fix=reverse("regulatory:plan_detail", kwargs={"external_id": plan.external_id}),
            ),
            item(
                "6",
                "認定再生医療等委員会の名称",
                (committee.name_ja or committee.name) if committee else "",
                fix=_edit(version),
            ),
        ],
        tables=[
            FormTable(
                title="変更事項（新旧対照）",
                columns=["事項", "変更前", "変更後"],
                rows=[[str(d["label"]), _shown(d["before"]), _shown(d["after"])] for d in diff],
            )
        ],
    )


def _transitions(actor: Any, name: str) -> Any:
    if not permissions.can_view_forms(actor):
        raise NotFound()
    return permissions.scope_regulatory(
        actor, PlanTransition.objects.filter(name=name)
    ).select_related("plan__institution", "version")


def build_minor_change(log: PlanTransition, params: dict[str, Any]) -> FormContent:
    """様式第3: a minor change, notified within 10 days (ASRM Art. 5(3))."""
    plan, version = log.plan, log.version
    labels = {f.name: str(f.verbose_name) for f in PlanVersion._meta.fields}
    rows = [
        [labels.get(name, name), _shown(pair[0]), _shown(pair[1])]
        for name, pair in (log.changes or {}).items()
    ]
    return FormContent(
        title="再生医療等提供計画事項軽微変更届書",
        addressee="地方厚生局長 殿",
        subject_label=f"{_plan_label(plan)} {log.effective_date.isoformat()}",
        plan=plan,
        items=[
            *_submitter(plan, version),
            _plan_number_item(plan, version),
            item("2", "再生医療等の名称", version.treatment_name, fix=_edit(version)),
            item("3", "変更の内容", "；".join(r[0] for r in rows)),
            item("4", "変更年月日", jdate(log.effective_date)),
            item("5", "変更の理由", log.reason),
        ],
        tables=[
            FormTable(title="変更事項（新旧対照）", columns=["事項", "変更前", "変更後"], rows=rows)
        ],
    )


def build_discontinuation(log: PlanTransition, params: dict[str, Any]) -> FormContent:
    """様式第4: provision stopped, notified within 10 days (ASRM Art. 6)."""
    plan, version = log.plan, log.version
    return FormContent(
        title="再生医療等提供中止届書",
        addressee="地方厚生局長 殿",
        subject_label=f"{_plan_label(plan)} {log.effective_date.isoformat()}",
        plan=plan,
        items=[
            *_submitter(plan, version),
            _plan_number_item(plan, version),
            item("2", "再生医療等の名称", version.treatment_name, fix=_edit(version)),
            item("3", "中止の年月日", jdate(log.effective_date)),
            item("4", "中止の理由", log.reason),
            item(
                "5",
                "提供を受けた者の経過観察の終了予定日",
                jdate(plan.follow_up_end_date),
                fix=reverse("regulatory:plan_detail", kwargs={"external_id": plan.external_id}),
            ),
        ],
        tables=[],
    )


def _reports(actor: Any) -> Any:
    if not permissions.can_view_forms(actor):
        raise NotFound()
    return permissions.scope_regulatory(actor, PeriodicReport.objects.all()).select_related(
        "plan__institution"
    )


def build_periodic(report: PeriodicReport, params: dict[str, Any]) -> FormContent:
    """別紙様式第3 with one annex table per section the apps contribute (regulatory.reports)."""
    plan = report.plan
    version = (
        PlanVersion.objects.filter(plan=plan, voided_at__isnull=True)
        .select_related("committee")
        .order_by("-number")
        .first()
    )
    page = reverse(
        "regulatory:periodic_report",
        kwargs={"external_id": plan.external_id, "index": report.period_index},
    )
    data = report.data or {}
    tables = []
    for section in data.get("sections", []):
        rows = [list(render_value(label, value, "ja")) for label, value in section["rows"]]
        tables.append(
            FormTable(
                title=f"別表 {render_value(section['title'], '', 'ja')[0]}",
                columns=["項目", "件数・内容"],
                rows=rows,
            )
        )
    committee = version.committee if version else None
    return FormContent(
        title="再生医療等提供状況定期報告書",
        addressee="地方厚生局長 殿",
        subject_label=f"{_plan_label(plan)} #{report.period_index}",
        plan=plan,
        items=[
            *_submitter(plan, version),
            item("1", "計画番号", plan.plan_number, fix=page),
            item("2", "再生医療等の名称", plan.title),
            item(
                "3",
                "報告期間",
                f"{jdate(report.period_start)}〜{jdate(report.period_end)}",
            ),
            item(
                "4",
                "報告の内容（別表のとおり）",
                "別表のとおり" if data.get("sections") else "",
                fix=page,
            ),
            item(
                "5",
                "認定再生医療等委員会の名称",
                (committee.name_ja or committee.name) if committee else "",
            ),
            item("6", "委員会の意見を聴いた日", jdate(report.committee_review_date), fix=page),
            item("7", "委員会の意見", report.committee_opinion, fix=page),
        ],
        tables=tables,
    )


FORMS = [
    OfficialForm("plan", "Provision plan version", 10, _resolve_version, build_plan),
    OfficialForm(
        "periodic",
        "Periodic report",
        30,
        lambda actor, ext: get_scoped(_reports(actor), ext),
        build_periodic,
    ),
    OfficialForm("change", "Provision plan version", 40, _resolve_version, build_change),
    OfficialForm(
        "minor_change",
        "Minor change",
        50,
        lambda actor, ext: get_scoped(_transitions(actor, "record_minor_change"), ext),
        build_minor_change,
    ),
    OfficialForm(
        "discontinuation",
        "Discontinuation",
        60,
        lambda actor, ext: get_scoped(_transitions(actor, "discontinue"), ext),
        build_discontinuation,
    ),
]
