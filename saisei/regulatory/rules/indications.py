"""Coded indications: the diseases a plan may target and a patient's record may carry.

A plan names its target disease in free text (様式第1の2 item 1); a patient's diagnosis is coded
against the same table, so the compliance gate compares codes, never spellings. Codes are
stable ids; each row cites its WHO ICD-10 category. The table is data: a deployment may add rows
through ``SAISEI_INDICATIONS`` (see ``regulatory.config.indication_vocabulary``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_noop

__all__ = [
    "DEFAULT_INDICATIONS",
    "Indication",
    "indication_code",
    "indication_codes_in",
    "normalise",
]

SOURCE = "WHO ICD-10 (2019 edition), chapter and category named in each row"


@dataclass(frozen=True)
class Indication:
    """One coded disease: stable code, ICD-10 category, English label and the phrases that name it."""

    code: str
    icd10: str
    label: str
    terms: tuple[str, ...]


DEFAULT_INDICATIONS: tuple[Indication, ...] = (
    Indication(
        "alzheimers_disease",
        "G30",
        gettext_noop("Alzheimer's disease"),
        (
            "alzheimer",
            "alzheimers",
            "alzheimers disease",
            "dementia of the alzheimer type",
            "アルツハイマー",
            "阿尔茨海默",
        ),
    ),
    Indication(
        "parkinsons_disease",
        "G20",
        gettext_noop("Parkinson's disease"),
        ("parkinson", "parkinsons", "parkinsons disease", "パーキンソン", "帕金森"),
    ),
    Indication(
        "cerebral_infarction",
        "I63",
        gettext_noop("Ischaemic stroke (cerebral infarction)"),
        (
            "ischaemic stroke",
            "ischemic stroke",
            "cerebral infarction",
            "脳梗塞",
            "脑梗死",
            "脑梗塞",
        ),
    ),
    Indication(
        "knee_osteoarthritis",
        "M17",
        gettext_noop("Osteoarthritis of the knee"),
        (
            "knee osteoarthritis",
            "osteoarthritis of the knee",
            "gonarthrosis",
            "変形性膝関節症",
            "膝骨关节炎",
        ),
    ),
    Indication(
        "frontotemporal_dementia",
        "G31.0",
        gettext_noop("Frontotemporal dementia"),
        ("frontotemporal dementia", "前頭側頭型認知症", "额颞叶痴呆"),
    ),
    Indication(
        "amyotrophic_lateral_sclerosis",
        "G12.2",
        gettext_noop("Amyotrophic lateral sclerosis"),
        ("amyotrophic lateral sclerosis", "als", "筋萎縮性側索硬化症", "肌萎缩侧索硬化"),
    ),
)

_APOSTROPHES = re.compile(r"['’`´]")
_SPACES = re.compile(r"\s+")


def normalise(text: str | None) -> str:
    """Case-, width-, apostrophe- and whitespace-insensitive form used for every comparison."""
    value = unicodedata.normalize("NFKC", text or "")
    value = _APOSTROPHES.sub("", value).casefold()
    return _SPACES.sub(" ", value).strip()


def _names(term: str, text: str) -> bool:
    """Does ``text`` contain ``term`` as whole words (Latin) or as a run of characters (CJK)?"""
    term = normalise(term)
    if not term:
        return False
    if term.isascii():
        return re.search(rf"(?<![0-9a-z]){re.escape(term)}(?![0-9a-z])", text) is not None
    return term in text


def indication_codes_in(text: str | None, vocabulary: Iterable[Indication]) -> frozenset[str]:
    """Every coded indication a free-text disease name mentions (a plan may target several)."""
    value = normalise(text)
    if not value:
        return frozenset()
    return frozenset(i.code for i in vocabulary if any(_names(t, value) for t in i.terms))


def indication_code(value: str | None, vocabulary: Iterable[Indication]) -> str | None:
    """The one code a value names: the code itself, its ICD-10 category, or text naming one disease.

    Text that names no indication, or more than one, has no code: the caller must ask a physician.
    """
    rows = tuple(vocabulary)
    text = normalise(value)
    if not text:
        return None
    for row in rows:
        if text == row.code or text == normalise(row.icd10):
            return row.code
    # An ICD-10 subcode (G30.1) names its category (G30).
    for row in rows:
        if "." not in row.icd10 and re.fullmatch(rf"{re.escape(normalise(row.icd10))}\.\d+", text):
            return row.code
    found = indication_codes_in(text, rows)
    return next(iter(found)) if len(found) == 1 else None
