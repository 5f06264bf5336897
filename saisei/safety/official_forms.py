"""The adverse-event report forms (疾病等報告書): to the certified committee (別紙様式第1,
Enforcement Regulation Art. 35) and to the Minister (別紙様式第2, Art. 36).

Both are filled from ``safety.reports.adverse_event_report_data``, the same record the draft PDF
prints, so the data is gathered once; the forms differ in addressee and in the committee item.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from saisei.core import display, numbers
from saisei.core.registry import FormContent, FormTable, OfficialForm
from saisei.regulatory.filings import item
from saisei.safety import selectors
from saisei.safety.models import SERIOUSNESS_FIELDS, AdverseEvent
from saisei.safety.reports import adverse_event_report_data

SEX_JA = {"female": "女", "male": "男", "other": "その他", "unknown": "不明"}
OUTCOME_JA = {
    "recovered": "回復",
    "recovering": "軽快",
    "not_recovered": "未回復",
    "sequelae": "後遺症あり",
    "fatal": "死亡",
    "unknown": "不明",
}
SERIOUS_JA = {
    "death": "死亡",
    "life_threatening": "死亡につながるおそれのある症例",
    "hospitalisation": "入院又は入院期間の延長",
    "disability": "障害",
    "congenital_anomaly": "後世代における先天性の疾病又は異常",
    "other_medically_important": "その他の重篤な症例",
}
# Not yet assessed has no Japanese: an unassessed causality is a missing item, never a blank.
RELATED_JA = {
    "definite": "関連あり（確実）",
    "probable": "関連あり（可能性大）",
    "possible": "関連あるかもしれない",
    "unlikely": "関連なしと思われる",
    "not_related": "関連なし",
}


def _resolve(actor: Any, external_id: str) -> AdverseEvent:
    return selectors.adverse_event_get(actor=actor, external_id=external_id)


def _treatment_items(event: AdverseEvent, tr: dict[str, Any], page: str) -> list[Any]:
    """The administration the event followed; an event before any infusion (e.g. after the
    harvest) says so instead of leaving the administration items blank."""
    if event.administration_id is None:
        return [
            item("8", "投与の状況", "投与前（細胞の採取後に発現）"),
            item("8-4", "特定細胞加工物の製造番号（ロット）", tr["lot"], required=False),
        ]
    return [
        item(
            "8-1",
            "投与経路",
            str(display.route_label(tr["route"])) if tr["route"] else "",
            fix=page,
        ),
        item("8-2", "投与日時", tr["started_at"], fix=page),
        item(
            "8-3",
            "投与細胞数",
            str(numbers.cells(tr["cells_given"])) if tr["cells_given"] else "",
            fix=page,
        ),
        item("8-4", "特定細胞加工物の製造番号（ロット）", tr["lot"], fix=page),
    ]


def _build(event: AdverseEvent, *, minister: bool) -> FormContent:
    data = adverse_event_report_data(event=event)
    plan = event.plan
    version = (
        plan.versions.filter(voided_at__isnull=True).order_by("-number").first() if plan else None
    )
    committee = version.committee if version else None
    items = _items(event, data)
    if minister:
        items.append(
            item(
                "12",
                "認定再生医療等委員会の名称・認定番号",
                f"{committee.name_ja or committee.name}（{committee.certification_number}）"
                if committee
                else "",
            )
        )
    addressee = (
        "厚生労働大臣 殿"
        if minister
        else f"{(committee.name_ja or committee.name) if committee else '認定再生医療等委員会'} 殿"
    )
    return FormContent(
        title="疾病等報告書",
        addressee=addressee,
        subject_label=f"{event.number} {event.term}",
        plan=plan,
        items=items,
        tables=[_follow_up_table(data)],
    )


def _relatedness(ev: dict[str, Any]) -> str:
    """Causality per part; every part must be assessed, one unassessed makes the item missing."""
    rel = ev["relatedness"]
    parts = [
        (what, RELATED_JA.get(rel[key], ""))
        for key, what in (("harvest", "採取"), ("cells", "細胞"), ("administration", "投与"))
    ]
    return "、".join(f"{w}：{v}" for w, v in parts) if all(v for _w, v in parts) else ""


def _items(event: AdverseEvent, data: dict[str, Any]) -> list[Any]:
    """Items 0 to 11, the ones both forms share."""
    institution = getattr(event.plan, "institution", None)
    page = reverse("safety:event_detail", kwargs={"external_id": event.external_id})
    ev, tr, pt = data["event"], data["treatment"], data["patient"]
    serious = [SERIOUS_JA[name] for name, _level in SERIOUSNESS_FIELDS if getattr(event, name)]
    return [
        item(
            "0-1", "医療機関の名称", data["institution"]["name_ja"] or data["institution"]["name"]
        ),
        item(
            "0-2",
            "医療機関の所在地",
            getattr(institution, "address", ""),
            fix=reverse("regulatory:registry"),
        ),
        item("0-3", "管理者の氏名", data["institution"]["administrator"]),
        item("1", "計画番号", data["plan"]["plan_number"], fix=page),
        item("2", "再生医療等の名称", data["plan"]["title"], fix=page),
        item(
            "3",
            "再生医療等の区分",
            {1: "第一種", 2: "第二種", 3: "第三種"}.get(data["plan"]["risk_class"] or 0, ""),
        ),
        item("4", "報告の別", "第1報" if data["report_kind"] == "initial" else "続報"),
        item("5-1", "患者識別コード", pt["code"]),
        item("5-2", "性別", SEX_JA.get(str(event.patient.sex), "")),
        item("5-3", "発現時年齢", f"{pt['age_at_onset']}歳"),
        item("6-1", "疾病等の名称", ev["term"], fix=page),
        item(
            "6-2",
            "MedDRA コード",
            ev["meddra_code"],
            required=False,
            fix=page,
            # Not coded yet is not "not applicable": the form says which, so it is not misread.
            empty="未コード化（MedDRA コード未入力）",
        ),
        item("6-3", "発現年月日", ev["onset_date"]),
        item("6-4", "知った日時", ev["aware_at"]),
        item("6-5", "重篤度（グレード）", ev["severity_grade"]),
        item("6-6", "重篤の区分", "、".join(serious) if serious else "非重篤"),
        item("6-7", "疾病等の経過", ev["description"], fix=page),
        item("7", "再生医療等との因果関係", _relatedness(ev), fix=page),
        *_treatment_items(event, tr, page),
        item("9", "講じた措置", ev["action_taken"], fix=page),
        item("10", "転帰", OUTCOME_JA.get(str(event.outcome), ""), fix=page),
        item("11", "報告者", data["assessed_by"] or data["recorded_by"]),
    ]


def _follow_up_table(data: dict[str, Any]) -> FormTable:
    return FormTable(
        title="続報",
        columns=["番号", "記録日時", "新たな情報", "転帰"],
        rows=[
            [
                str(f["number"]),
                f["recorded_at"],
                f["note"],
                OUTCOME_JA.get(str(f["outcome"]), ""),
            ]
            for f in data["follow_ups"]
        ],
    )


def _committee(event: AdverseEvent, params: dict[str, Any]) -> FormContent:
    return _build(event, minister=False)


def _minister(event: AdverseEvent, params: dict[str, Any]) -> FormContent:
    return _build(event, minister=True)


FORMS = [
    OfficialForm("ae_committee", "Adverse event", 20, _resolve, _committee),
    OfficialForm("ae_minister", "Adverse event", 21, _resolve, _minister),
]
