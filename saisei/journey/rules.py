"""Declarative tables for the patient journey: privacy notices, upload limits, inquiry workflow,
visa checklist. Each entry names its source; values the facts mark uncertain are settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_noop

# --- APPI privacy notice shown on the public inquiry form ---------------------------------


@dataclass(frozen=True)
class PrivacyNotice:
    """The purpose and retention the family consents to (APPI Art. 17 purpose, Art. 18 use
    limited to it, Art. 20(2) consent for special-care-required data such as health data,
    Art. 28 transfer abroad when a facilitator outside Japan is involved)."""

    version: str
    purpose: str
    retention: str
    source: str = "APPI Art. 17, 18, 20(2), 21, 28"


PRIVACY_NOTICES: dict[str, PrivacyNotice] = {
    "appi-2026-1": PrivacyNotice(
        version="appi-2026-1",
        purpose=gettext_noop(
            "We use the information and records you send only to answer your inquiry: to judge "
            "whether the treatment could be suitable, to prepare a quote and a travel plan, and "
            "to contact you about them. Health information is shared only with the clinic's "
            "doctors and coordinators who work on your inquiry."
        ),
        retention=gettext_noop(
            "If treatment does not go ahead, we delete your inquiry and its records two years "
            "after our last contact. If treatment goes ahead, they become part of the medical "
            "record, which Japanese law requires us to keep for at least ten years. You may ask "
            "us at any time to see, correct or stop using your information."
        ),
    ),
}
CURRENT_PRIVACY_NOTICE = "appi-2026-1"


# --- uploads --------------------------------------------------------------------------------

# Signatures (leading bytes) of the record types families usually have: letters and results as
# PDF, scans and photos as JPEG or PNG. Checked on content, not on the file name.
UPLOAD_TYPES: dict[str, tuple[tuple[str, ...], tuple[bytes, ...]]] = {
    "application/pdf": ((".pdf",), (b"%PDF-",)),
    "image/jpeg": ((".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    "image/png": ((".png",), (b"\x89PNG\r\n\x1a\n",)),
}


def upload_max_bytes() -> int:
    return int(getattr(settings, "JOURNEY_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))


def upload_max_files() -> int:
    return int(getattr(settings, "JOURNEY_UPLOAD_MAX_FILES", 5))


def inquiry_min_fill_seconds() -> float:
    """Bot protection: people need a few seconds to fill the form; scripts do not wait."""
    return float(getattr(settings, "JOURNEY_INQUIRY_MIN_FILL_SECONDS", 3))


def portal_link_hours() -> int:
    return int(getattr(settings, "JOURNEY_PORTAL_LINK_HOURS", 72))


# --- medical-stay visa ----------------------------------------------------------------------


@dataclass(frozen=True)
class VisaItem:
    code: str
    label: str
    source: str


_VISA_SRC = (
    "Ministry of Foreign Affairs of Japan, Visa for Medical Stay (2011): "
    "https://www.mofa.go.jp/announce/announce/2010/12/1217_01.html"
)

VISA_CHECKLIST: tuple[VisaItem, ...] = (
    VisaItem("passport", gettext_noop("Passport and photo"), _VISA_SRC),
    VisaItem("application_form", gettext_noop("Visa application form"), _VISA_SRC),
    VisaItem(
        "treatment_certificate",
        gettext_noop(
            "Planned-treatment certificate from the medical institution (受診等予定証明書)"
        ),
        _VISA_SRC,
    ),
    VisaItem(
        "guarantee_letter",
        gettext_noop("Letter of guarantee from the registered guarantor organisation"),
        "Ministry of Foreign Affairs of Japan, registered guarantors: "
        "https://www.mofa.go.jp/mofaj/toko/visa/medical/guarantor.html; registered with METI or "
        "the Japan Tourism Agency",
    ),
    VisaItem("financial_proof", gettext_noop("Proof of funds (bank statement)"), _VISA_SRC),
    VisaItem("identity", gettext_noop("Identity document"), _VISA_SRC),
    VisaItem(
        "multiple_entry_plan",
        gettext_noop(
            "Medical Treatment Plan from a physician in Japan (for a multiple-entry visa)"
        ),
        "Ministry of Foreign Affairs of Japan, Visa for Medical Stay: multiple entry up to 3 years, "
        "each visit 90 days or less (https://www.mofa.go.jp/announce/announce/2010/12/1217_01.html)",
    ),
    VisaItem(
        "companion_documents",
        gettext_noop("Companion's passport and application (named on the guarantee letter)"),
        "Ministry of Foreign Affairs of Japan, Visa for Medical Stay: companions "
        "(https://www.mofa.go.jp/announce/announce/2010/12/1217_01.html)",
    ),
)


# --- what every quote says about evidence and risk ------------------------------------------
# Plain language for families (journey facts §4: evidence for MSC in Alzheimer's disease is early,
# mostly phase 1 and 1/2 trials; a plan number shows review, not efficacy; ISSCR red flags).

QUOTE_EVIDENCE: tuple[str, ...] = (
    gettext_noop(
        "This is not a cure. No randomised controlled trial has shown that stem-cell treatment "
        "slows or improves Alzheimer's disease."
    ),
    gettext_noop(
        "The published studies are small and early (mostly phase 1 or 1/2). They suggest the "
        "treatment is reasonably safe in the short term; whether it helps is not known."
    ),
    gettext_noop(
        "A provision plan number means the plan was reviewed by a certified committee and filed "
        "with the Ministry of Health, Labour and Welfare. It does not mean the treatment works."
    ),
    gettext_noop(
        "We measure memory and daily function before and after treatment and compare them with "
        "what is usually seen without treatment, and with the normal ups and downs of testing."
    ),
)

QUOTE_RISKS: tuple[str, ...] = (
    gettext_noop(
        "Fat harvest: pain, bruising, bleeding or infection at the small cut; rarely a reaction "
        "to the local anaesthetic."
    ),
    gettext_noop(
        "Infusion: fever, headache or tiredness for a day or two; rarely an allergic reaction, "
        "a blood clot in the lungs or an infection carried by the cells."
    ),
    gettext_noop("Long-term risks, including any effect on tumours, are not fully known."),
    gettext_noop(
        "Travel: long flights and time away from home can cause confusion in people with "
        "dementia. Plan rest days and bring a carer."
    ),
)

QUOTE_VALIDITY_DAYS_DEFAULT = 60
