"""The official forms (様式) Saisei fills, each with the instrument that defines it.

This table is what Saisei ships; a clinic records the versions it files under as ``FormVersion``
rows (installed from this table, and added when the ministry revises a form). ``certain=False``
marks a form whose layout or article Saisei's sources could not verify against the primary text
(the Enforcement Regulation, MHLW Ordinance No. 110 of 2014, e-Gov 426M60000100110); the item
lists then follow what the sources below describe and must be checked before relying on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["FORMS", "ShippedForm"]

# The 2025 form-filling guide (記載要領) presented to the Health Sciences Council subcommittee
# (107th meeting), https://www.mhlw.go.jp/stf/newpage_58780.html ; the amended Act (Act No. 51
# of 2024) is in force from 2025-05-31 (⚠ date reported at https://www.yakujihou.com/yakujinews/50053/).
GUIDE_2025 = "2025 記載要領 (https://www.mhlw.go.jp/stf/newpage_58780.html)"
REGULATION = "再生医療等の安全性の確保等に関する法律施行規則 (MHLW Ordinance No. 110 of 2014)"
SHIPPED_VERSION = "2025 (Act No. 51 of 2024)"
SHIPPED_FROM = dt.date(2025, 5, 31)


@dataclass(frozen=True)
class ShippedForm:
    code: str
    name_ja: str
    source: str
    certain: bool
    note: str = ""


FORMS: dict[str, ShippedForm] = {
    f.code: f
    for f in (
        ShippedForm(
            "plan",
            "様式第1の2 再生医療等提供計画（治療）",
            f"{REGULATION} 様式第1の2; ASRM Art. 4; web form items per "
            "https://saiseiiryo.mhlw.go.jp/application/plan01 and " + GUIDE_2025,
            certain=False,
            note="⚠ Items 3–7 of the form were not retrieved; the order after item 2 follows ASRM Art. 4.",
        ),
        ShippedForm(
            "ae_committee",
            "別紙様式第1 疾病等報告書（認定再生医療等委員会あて）",
            f"ASRM Art. 17; {REGULATION} Art. 35, 別紙様式第1",
            certain=False,
            note="⚠ Layout follows the committee sites' summaries (https://crm.npo-hifu.net/疾病等報告).",
        ),
        ShippedForm(
            "ae_minister",
            "別紙様式第2 疾病等報告書（厚生労働大臣あて）",
            f"ASRM Art. 18; {REGULATION} Art. 36, 別紙様式第2",
            certain=False,
            note="⚠ The article text was not read; items mirror 別紙様式第1.",
        ),
        ShippedForm(
            "periodic",
            "別紙様式第3 再生医療等提供状況定期報告書",
            f"ASRM Art. 20–21; {REGULATION} 別紙様式第3 (https://crm.npo-hifu.net/定期報告)",
            certain=False,
            note="⚠ The report's contents were not verified; the annex tables follow the sources' description.",
        ),
        ShippedForm(
            "change",
            "様式第2 再生医療等提供計画事項変更届書",
            f"ASRM Art. 5(1); {REGULATION} 様式第2 (https://hiro-clinic.or.jp/saisei/procedure/?lang=en)",
            certain=False,
        ),
        ShippedForm(
            "minor_change",
            "様式第3 再生医療等提供計画事項軽微変更届書",
            f"ASRM Art. 5(3); {REGULATION} 様式第3 (https://hiro-clinic.or.jp/saisei/procedure/?lang=en)",
            certain=False,
        ),
        ShippedForm(
            "discontinuation",
            "様式第4 再生医療等提供中止届書",
            f"ASRM Art. 6; {REGULATION} 様式第4 (http://www.dmi.med.osaka-u.ac.jp/nintei/procedure02-2.html)",
            certain=False,
        ),
        ShippedForm(
            "cpc_yearly",
            "別紙様式第8 特定細胞加工物製造状況定期報告書",
            f"ASRM Ch. IV; {REGULATION} 別紙様式第8 (https://crm.npo-hifu.net/定期報告)",
            certain=False,
            note="⚠ Article, period and contents not verified.",
        ),
    )
}
