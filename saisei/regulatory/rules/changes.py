"""Which plan fields a minor change (軽微な変更) may touch: a cited data table, narrow on purpose.

A minor change needs only a notice within 10 days (ASRM Art. 5(3), 様式第3); every other change
of a provision plan needs the committee's review and a change filing *before* it takes effect
(ASRM Art. 5(1)–(2); Art. 10 for Class I). The Enforcement Regulation defines the minor changes;
its own list was not read (⚠), so this table holds only administrative items that regional-bureau
guidance names as minor, and anything not listed is treated as non-minor. A field that widens
what may be done (route, dose range, number of administrations, indication, tissue, cell facts,
eligibility, the processing facility, the physicians) is never on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_noop

__all__ = ["MINOR_CHANGE_FIELDS", "MinorField", "non_minor_fields"]

SRC_KINKI = (
    "Kinki Regional Bureau of Health and Welfare, 再生医療等提供計画の内容を変更しようとするとき "
    "(as reported at https://saiseiiryou.wellness-sp.co.jp/henkousinsei); "
    "https://hiro-clinic.or.jp/saisei/procedure/?lang=en"
)
SRC_ACT = "ASRM Art. 5(1) and 5(3); Enforcement Regulation (article on minor changes ⚠ not read)"


@dataclass(frozen=True)
class MinorField:
    """One plan-version field a minor change may set, with its source and how sure we are."""

    field: str
    label: str  # msgid, marked with gettext_noop
    source: str
    certain: bool
    note: str = ""


MINOR_CHANGE_FIELDS: dict[str, MinorField] = {
    row.field: row
    for row in (
        MinorField(
            "contact_person",
            gettext_noop("Administrative contact (事務担当者)"),
            f"{SRC_ACT}; {SRC_KINKI}",
            certain=True,
        ),
        MinorField(
            "contact_phone",
            gettext_noop("Contact telephone"),
            f"{SRC_ACT}; {SRC_KINKI}",
            certain=True,
        ),
        MinorField(
            "contact_email",
            gettext_noop("Contact e-mail"),
            f"{SRC_ACT}; {SRC_KINKI}",
            certain=True,
        ),
        MinorField(
            "administrator_name",
            gettext_noop("Administrator of the institution (管理者)"),
            f"{SRC_ACT}; {SRC_KINKI}",
            certain=False,
            note=(
                "⚠ The bureau lists a change of administrator as minor only where the provider "
                "is a corporation; for a clinic run by an individual it may be a new provider. "
                "Confirm with the bureau before relying on it."
            ),
        ),
    )
}


# Plan items added for the plan form (様式第1の2) in issue 16 and deliberately *not* minor: the
# responsible physician (実施責任者) and the price the patient pays are named as changes that need
# the committee's review first (Kinki bureau guidance, SRC_KINKI above: "the physicians or the
# price"); the processed cells' name and processing summary are facts about the cells, never
# minor. The research registration number (jRCT) could be administrative, but no source says so
# (⚠), so it stays non-minor until one does (fail closed).
NOT_MINOR_BY_SOURCE: dict[str, str] = {
    "responsible_physician": SRC_KINKI,
    "patient_price_yen": SRC_KINKI,
    "cell_name": SRC_KINKI,
    "cell_processing_summary": SRC_KINKI,
    "research_registration_number": "⚠ no source found that lists it as minor",
}


def non_minor_fields(fields: Iterable[str]) -> list[str]:
    """The fields in ``fields`` that a minor change may not touch (sorted; empty if all are minor)."""
    return sorted(f for f in set(fields) if f not in MINOR_CHANGE_FIELDS)
