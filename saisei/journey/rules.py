"""Declarative tables for the patient journey: privacy notices, upload limits, inquiry workflow,
visa checklist. Each entry names its source; values the facts mark uncertain are settings."""

from __future__ import annotations

import datetime as dt
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


@dataclass(frozen=True)
class UploadType:
    """One accepted record type: recognised by its content (a signature at a byte offset), and
    stored under its own extension and media type whatever name and type the browser sent."""

    content_type: str
    extension: str
    names: tuple[str, ...]  # extensions families use for it, to explain a damaged file
    offset: int
    signatures: tuple[bytes, ...]
    source: str


# The allow-list: the record types families usually have, letters and results as PDF, scans and
# photos as JPEG or PNG. Anything whose content matches none of these is refused.
UPLOAD_TYPES: tuple[UploadType, ...] = (
    UploadType("application/pdf", ".pdf", (".pdf",), 0, (b"%PDF-",), "ISO 32000-1 §7.5.2"),
    UploadType(
        "image/jpeg", ".jpg", (".jpg", ".jpeg"), 0, (b"\xff\xd8\xff",), "ISO/IEC 10918-1 SOI"
    ),
    UploadType("image/png", ".png", (".png",), 0, (b"\x89PNG\r\n\x1a\n",), "ISO/IEC 15948 §5.2"),
)
UPLOAD_SNIFF_BYTES = 512


def upload_type_detect(head: bytes) -> UploadType | None:
    """The accepted type whose signature the file's first bytes carry, or None."""
    for kind in UPLOAD_TYPES:
        window = head[kind.offset :]
        if any(window.startswith(sig) for sig in kind.signatures):
            return kind
    return None


def upload_type_named(name: str) -> UploadType | None:
    """The accepted type a file name claims by its extension (only to word a refusal)."""
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    return next((k for k in UPLOAD_TYPES if ext in k.names), None)


# No living person was born before this; an earlier date of birth is a typing error (or a
# probe: year 1 passes a date parser but breaks age arithmetic in some time zones).
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def upload_max_bytes() -> int:
    return int(getattr(settings, "JOURNEY_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))


def upload_max_files() -> int:
    return int(getattr(settings, "JOURNEY_UPLOAD_MAX_FILES", 5))


def inquiry_max_per_address_per_hour() -> int:
    """Inquiries accepted from one client address within an hour."""
    return int(getattr(settings, "JOURNEY_INQUIRY_MAX_PER_ADDRESS_PER_HOUR", 5))


def inquiry_max_per_email_per_day() -> int:
    """Inquiries accepted for one contact e-mail address within a day."""
    return int(getattr(settings, "JOURNEY_INQUIRY_MAX_PER_EMAIL_PER_DAY", 3))


def inquiry_max_per_hour() -> int:
    """Inquiries accepted from everyone within an hour: a cap on a flood from many addresses."""
    return int(getattr(settings, "JOURNEY_INQUIRY_MAX_PER_HOUR", 60))


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
