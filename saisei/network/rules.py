"""What may be shared with a partner clinic, and the information a family is given before their
data goes abroad. Each rule cites its source.

APPI Art. 28(1): personal data may be provided to a third party in a foreign country only with
the person's prior consent to that transfer abroad. Art. 28(2) with the Enforcement Rules of the
APPI (個人情報の保護に関する法律施行規則) Art. 17(2): before that consent the person is told (i) the
name of the country, (ii) that country's system for protecting personal information, and
(iii) the measures the recipient takes to protect it. A country this table does not describe is
refused: Saisei never sends data abroad without the information it must give.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

APPI_ART_28 = "APPI Art. 28(1)–(2); Enforcement Rules of the APPI Art. 17(2)"

# Inquiry fields a partner agreement may list, with the label the family and the clinic read.
SHAREABLE_FIELDS: dict[str, object] = {
    "patient_name": _("patient's name"),
    "patient_date_of_birth": _("patient's date of birth"),
    "patient_sex": _("patient's sex"),
    "country": _("country where the patient lives"),
    "diagnosis": _("diagnosis"),
    "diagnosis_when": _("when was it diagnosed"),
    "current_medicines": _("current medicines"),
    "cognitive_scores": _("latest cognitive test scores"),
    "mobility": _("mobility"),
    "legal_proxy": _("legal proxy (name and relationship)"),
    "travel_windows": _("preferred travel periods"),
    "message": _("anything else"),
    "contact_name": _("your name"),
    "contact_email": _("your e-mail"),
    "contact_phone": _("your phone"),
}
DOCUMENTS = "documents"


@dataclass(frozen=True)
class CountrySystem:
    """A country's data-protection system as told to the family (APPI Art. 28(2))."""

    code: str
    name: object
    system: object
    source: str


COUNTRY_SYSTEMS: dict[str, CountrySystem] = {
    c.code: c
    for c in (
        CountrySystem(
            "JP",
            _("Japan"),
            _(
                "Japan: the Act on the Protection of Personal Information applies, supervised by "
                "the Personal Information Protection Commission. You may ask the clinic to "
                "disclose, correct or stop using your data."
            ),
            "APPI (Act No. 57 of 2003) Art. 33–35",
        ),
        CountrySystem(
            "CN",
            _("China"),
            _(
                "China: the Personal Information Protection Law (2021) applies. You may ask to "
                "see, correct or delete your data; health data is sensitive personal information."
            ),
            "PIPL (2021) Art. 28, 44–47",
        ),
        CountrySystem(
            "KR",
            _("South Korea"),
            _(
                "South Korea: the Personal Information Protection Act applies, supervised by the "
                "Personal Information Protection Commission."
            ),
            "PIPA (Republic of Korea)",
        ),
        CountrySystem(
            "TW",
            _("Taiwan"),
            _("Taiwan: the Personal Data Protection Act applies."),
            "Personal Data Protection Act (Taiwan)",
        ),
        CountrySystem(
            "US",
            _("United States"),
            _(
                "United States: there is no general federal data-protection law; health data "
                "held by health-care providers is covered by HIPAA, and state laws differ."
            ),
            "HIPAA (45 CFR Parts 160, 164)",
        ),
    )
}


def country_name(code: str) -> str:
    c = COUNTRY_SYSTEMS.get(code)
    return str(c.name) if c else code


# How the cells are given, as the family reads it on the comparison (plan route codes).
ROUTE_LABELS: dict[str, object] = {
    "iv": _("Intravenous drip"),
    "intrathecal": _("Into the spinal fluid (intrathecal)"),
}
