"""Risk classification of a regenerative-medicine technology (Class I, II or III) under ASRM.

The classes rank safety risk, not efficacy. Every rule below cites where it comes from; the
wording of Enforcement Regulation Art. 3 (Class II) was not seen first-hand, so the two
judgement calls it leaves open are switches in ``ClassificationConfig`` with the cautious default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext, gettext_noop

from .common import DomainError, Refusal

__all__ = [
    "CLASSIFICATION_RULES",
    "CellOrigin",
    "CellType",
    "ClassRule",
    "Classification",
    "ClassificationConfig",
    "ClassificationInput",
    "Reason",
    "check_declared_class",
    "classify",
]

REG_ART_2 = "ASRM Art. 2(5); Enforcement Regulation (MHLW Ord. No. 110 of 2014) Art. 2"
REG_ART_2_EDIT = "ASRM Art. 2(5); Enforcement Regulation Art. 2 (genome editing added by the 2020-06-26 amendment)"
REG_ART_3 = "ASRM Art. 2(6); Enforcement Regulation Art. 3"
HOMOLOGOUS_NOTICE = "MHLW notice 医政研発1031第1号 (2014-10-31), homologous use (相同利用)"
ACT_ART_2_7 = "ASRM Art. 2(7)"


class CellOrigin(StrEnum):
    AUTOLOGOUS = "autologous"
    ALLOGENEIC = "allogeneic"
    XENOGENEIC = "xenogeneic"


class CellType(StrEnum):
    ES = "es"
    IPS = "ips"
    IPS_LIKE = "ips_like"
    SOMATIC_STEM = "somatic_stem"
    SOMATIC = "somatic"


@dataclass(frozen=True)
class ClassificationInput:
    """The facts about the cells and their use that decide the class."""

    cell_origin: CellOrigin
    cell_type: CellType
    gene_introduced: bool
    gene_edited: bool
    cultured: bool
    homologous_use: bool


@dataclass(frozen=True)
class ClassificationConfig:
    """Judgement calls the facts sheet marks uncertain (⚠), with the cautious answer as default."""

    # ⚠ Unconfirmed whether uncultured stem cells in homologous use can be Class III; the sheet's
    # safe rule keeps every somatic-stem-cell use at Class II or above.
    somatic_stem_cells_at_least_class_2: bool = True
    # ⚠ Art. 3 speaks of cultured cells used to rebuild, repair or form body structure/function;
    # the input does not record the purpose, so any culture counts unless a committee says otherwise.
    any_culture_is_class_2: bool = True


@dataclass(frozen=True)
class ClassRule:
    """One row of the classification table: if ``applies`` holds, the class is at most ``risk_class``."""

    id: str
    risk_class: int
    text: str
    source: str
    applies: Callable[[ClassificationInput, ClassificationConfig], bool]


# Order matters only for the order of reasons shown; the class is the most severe rule that fires.
CLASSIFICATION_RULES: tuple[ClassRule, ...] = (
    ClassRule(
        id="CLASS1-PLURIPOTENT",
        risk_class=1,
        text=gettext_noop("Human ES, iPS or iPS-like cells are used, which makes it Class I."),
        source=REG_ART_2,
        applies=lambda i, c: i.cell_type in {CellType.ES, CellType.IPS, CellType.IPS_LIKE},
    ),
    ClassRule(
        id="CLASS1-GENE-INTRODUCED",
        risk_class=1,
        text=gettext_noop("A gene was introduced into the cells, which makes it Class I."),
        source=REG_ART_2,
        applies=lambda i, c: i.gene_introduced,
    ),
    ClassRule(
        id="CLASS1-GENE-EDITED",
        risk_class=1,
        text=gettext_noop("The cells' genes were edited, which makes it Class I."),
        source=REG_ART_2_EDIT,
        applies=lambda i, c: i.gene_edited,
    ),
    ClassRule(
        id="CLASS1-XENOGENEIC",
        risk_class=1,
        text=gettext_noop("Animal (xenogeneic) cells are used, which makes it Class I."),
        source=REG_ART_2,
        applies=lambda i, c: i.cell_origin is CellOrigin.XENOGENEIC,
    ),
    ClassRule(
        id="CLASS1-ALLOGENEIC",
        risk_class=1,
        text=gettext_noop(
            "The cells come from a person other than the patient (allogeneic), which makes it Class I."
        ),
        source=REG_ART_2,
        applies=lambda i, c: i.cell_origin is CellOrigin.ALLOGENEIC,
    ),
    ClassRule(
        id="CLASS2-SOMATIC-STEM",
        risk_class=2,
        text=gettext_noop("Human somatic stem cells are used, which makes it at least Class II."),
        source=REG_ART_3,
        applies=lambda i, c: (
            i.cell_type is CellType.SOMATIC_STEM
            and (c.somatic_stem_cells_at_least_class_2 or i.cultured or not i.homologous_use)
        ),
    ),
    ClassRule(
        id="CLASS2-CULTURED",
        risk_class=2,
        text=gettext_noop("The cells are cultured before use, which makes it at least Class II."),
        source=REG_ART_3,
        applies=lambda i, c: i.cultured and c.any_culture_is_class_2,
    ),
    ClassRule(
        id="CLASS2-NON-HOMOLOGOUS",
        risk_class=2,
        text=gettext_noop(
            "The cells are given where they do not do the same job as the cells already there "
            "(non-homologous use), which makes it at least Class II."
        ),
        source=f"{REG_ART_3}; {HOMOLOGOUS_NOTICE}",
        applies=lambda i, c: not i.homologous_use,
    ),
    ClassRule(
        id="CLASS3-RESIDUAL",
        risk_class=3,
        text=gettext_noop("No Class I or Class II criterion applies, so it is Class III."),
        source=ACT_ART_2_7,
        applies=lambda i, c: True,
    ),
)


@dataclass(frozen=True)
class Reason:
    """A rule that decided the class, with its text in the active language."""

    rule: str
    text: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class Classification:
    """The computed class and the rules of that class that fired."""

    risk_class: int
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"risk_class": self.risk_class, "reasons": [r.as_dict() for r in self.reasons]}


def _enum(enum: type[StrEnum], name: str, value: object) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise DomainError(
            "classification.invalid_input",
            gettext("Unknown value for {field}. Allowed: {allowed}.").format(
                field=name, allowed=allowed
            ),
            fields={name: [allowed]},
        ) from None


def _flag(name: str, value: object) -> bool:
    # Strings such as "false" are truthy; refusing them keeps a form bug from upgrading nothing silently.
    if not isinstance(value, bool):
        raise DomainError(
            "classification.invalid_input",
            gettext("{field} must be true or false.").format(field=name),
            fields={name: ["bool"]},
        )
    return value


def classify(
    *,
    cell_origin: CellOrigin | str,
    cell_type: CellType | str,
    gene_introduced: bool,
    gene_edited: bool,
    cultured: bool,
    homologous_use: bool,
    config: ClassificationConfig | None = None,
) -> Classification:
    """Compute the risk class from the rule table, so the plan's declared class can be checked."""
    cfg = config or ClassificationConfig()
    facts = ClassificationInput(
        cell_origin=_enum(CellOrigin, "cell_origin", cell_origin),
        cell_type=_enum(CellType, "cell_type", cell_type),
        gene_introduced=_flag("gene_introduced", gene_introduced),
        gene_edited=_flag("gene_edited", gene_edited),
        cultured=_flag("cultured", cultured),
        homologous_use=_flag("homologous_use", homologous_use),
    )
    fired = [rule for rule in CLASSIFICATION_RULES if rule.applies(facts, cfg)]
    risk_class = min(rule.risk_class for rule in fired)
    reasons = tuple(
        Reason(rule=rule.id, text=gettext(rule.text), source=rule.source)
        for rule in fired
        if rule.risk_class == risk_class
    )
    return Classification(risk_class=risk_class, reasons=reasons)


def check_declared_class(*, declared: int, computed: int) -> None:
    """Refuse a plan that declares a lower-risk class than the rules compute (ASRM Art. 4; Reg. Art. 2–3).

    Class 1 is the highest risk, so a declared number greater than the computed one is too low.
    """
    for name, value in (("declared", declared), ("computed", computed)):
        if value not in (1, 2, 3) or isinstance(value, bool):
            raise DomainError(
                "classification.invalid_input",
                gettext("{field} must be 1, 2 or 3.").format(field=name),
                fields={name: ["1|2|3"]},
            )
    if declared > computed:
        raise Refusal(
            code="plan.declared_class_too_low",
            msgid=gettext_noop(
                "The plan declares Class {declared}, but the rules give Class {computed}. "
                "A plan cannot be submitted with a lower class than the computed one."
            ),
            params={"declared": declared, "computed": computed},
        ).error()
