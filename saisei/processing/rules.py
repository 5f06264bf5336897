"""Configurable processing data: ISBT 128 site identity, required donor tests, transport limits.

Each value the facts sheet marks uncertain is a default a site can override in settings
(``SAISEI_PROCESSING = {...}``), never a hard constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class InfectionMarker:
    """A donor test that must be negative before the tissue is processed."""

    code: str
    name: Any
    source: str


_MARKER_SOURCE = (
    "Viral screening before harvest, a positive result excluding the patient, as published by "
    "Japanese clinics (e.g. http://www.nagitsuji-hp.jp/regenerative/); the list of viruses is "
    "set by the provision plan, no regulation fixes it"
)

DEFAULT_INFECTION_MARKERS: tuple[InfectionMarker, ...] = (
    InfectionMarker("hbs_ag", _("Hepatitis B surface antigen"), _MARKER_SOURCE),
    InfectionMarker("hcv_ab", _("Hepatitis C antibody"), _MARKER_SOURCE),
    InfectionMarker("hiv_ab", _("HIV antibody"), _MARKER_SOURCE),
    InfectionMarker("htlv1_ab", _("HTLV-1 antibody"), _MARKER_SOURCE),
    InfectionMarker("syphilis", _("Syphilis (TP antibody)"), _MARKER_SOURCE),
)

MARKER_RESULTS = ("negative", "positive", "pending")


@dataclass(frozen=True)
class CellSourceCollectionType:
    """Which ISBT 128 collection type a plan's cell source is labelled with, and why."""

    cell_source: str  # a value of regulatory.CellOrigin (the plan version's cell source)
    collection_type: str  # the `t` character of a cellular-therapy product code
    source: str


_RT008 = "ISBT 128 ST-001 §2.4.3, Table 7 [RT008] (collection type of a cellular-therapy product)"

# The plan's cell source decides the collection type printed in every product code (DS003) and
# the intended-use statement beside it. Xenogeneic cells have no row: ISBT 128 identifies medical
# products of human origin (ST-002 terminology), so there is no code to print and the label is
# refused. A site may map a source to another code of the same kind (e.g. `X`, autologous with a
# biohazard), never to one of the other kind (see collection_type_for_cell_source).
COLLECTION_TYPE_BY_CELL_SOURCE: dict[str, CellSourceCollectionType] = {
    row.cell_source: row
    for row in (
        CellSourceCollectionType(
            "autologous", "1", f"{_RT008}: code 1, for autologous use only; 21 CFR 1271.90(c)"
        ),
        CellSourceCollectionType(
            "allogeneic", "V", f"{_RT008}: code V, volunteer allogeneic donation (the default)"
        ),
    )
}


@dataclass(frozen=True)
class ProcessingConfig:
    """Per-site processing configuration.

    - facility_id / pdc: the CPC's ICCBBA Facility Identification Number and the Product
      Description Code of its MSC(AT) product; licensed data (ST-001 §1), so supplied by the site.
      The defaults are placeholders for demonstration only.
    - collection_types_by_cell_source: the ISBT 128 collection type for each plan cell source
      (defaults in COLLECTION_TYPE_BY_CELL_SOURCE); a missing source refuses the label.
    - required_markers: donor tests required negative before processing.
    - transport limits: °C range a transport leg must stay within (FACT CM10 leaves it to the SOP).
    - tissue_pdc: product description code printed on the tissue container (licensed, site-supplied).
    - tissue_use_within_hours: time from collection within which processing must start [U].
    - dose_shelf_life_days: cryopreserved shelf life used for the label expiry [U].
    - post_thaw_use_hours: time from thaw to administration [U].
    """

    facility_id: str = "A9999"
    pdc: str = "S9999"
    collection_types_by_cell_source: dict[str, str] = field(
        default_factory=lambda: {
            k: v.collection_type for k, v in COLLECTION_TYPE_BY_CELL_SOURCE.items()
        }
    )
    required_markers: tuple[str, ...] = tuple(m.code for m in DEFAULT_INFECTION_MARKERS)
    transport_min_c: float = 2.0
    transport_max_c: float = 8.0
    cryo_transport_max_c: float = -150.0
    tissue_pdc: str = "S9998"
    tissue_use_within_hours: float = 48.0
    dose_shelf_life_days: int = 180
    post_thaw_use_hours: float = 3.0
    label_patient_fields: tuple[str, ...] = ("patient_code", "name", "date_of_birth")
    extra: dict[str, Any] = field(default_factory=dict)


def processing_config() -> ProcessingConfig:
    """The site's configuration: defaults overridden by ``settings.SAISEI_PROCESSING``."""
    overrides = dict(getattr(settings, "SAISEI_PROCESSING", {}) or {})
    known = set(ProcessingConfig.__dataclass_fields__)
    values = {k: v for k, v in overrides.items() if k in known}
    for key in ("required_markers", "label_patient_fields"):
        if key in values:
            values[key] = tuple(values[key])
    return ProcessingConfig(**values)


def marker_name(code: str) -> Any:
    for marker in DEFAULT_INFECTION_MARKERS:
        if marker.code == code:
            return marker.name
    return code


# --- environmental monitoring --------------------------------------------------------------------

# One unit per parameter, so a reading is never typed with its own unit.
EM_UNITS: dict[str, str] = {
    "particles_0_5": "/m³",
    "particles_5_0": "/m³",
    "air_viable": "CFU/m³",
    "settle_plate": "CFU/4 h",
    "contact_plate": "CFU/plate",
    "glove_print": "CFU/glove",
}


# --- release of a clean lot ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseRule:
    """A condition of the lot's own record that must hold before QA may release it.

    The plan, the facility's authorisation and consent are the compliance gate's act "release"
    (``regulatory.rules.gate``); these rules cover the batch record the gate does not see.
    """

    id: str
    source: str
    description: Any


RELEASE_OPEN_DEVIATION = ReleaseRule(
    "RELEASE-OPEN-DEVIATION",
    "ASRM Enforcement Regulation Art. 99–100 (manufacturing and quality control: deviation "
    "control and release control); PIC/S GMP Part I ch. 1 (deviations investigated before "
    "certification)",
    _("No deviation of the lot or of its donation is still open."),
)
RELEASE_EM_EXCURSION = ReleaseRule(
    "RELEASE-EM-EXCURSION-OPEN",
    "ASRM Enforcement Regulation Art. 97 and 100 (hygiene and quality control); PIC/S GMP "
    "Annex 1 (2022) ch. 9 (excursions investigated; monitoring results reviewed for release)",
    _(
        "Every environmental-monitoring excursion during the lot's manufacture has a closed "
        "investigation."
    ),
)
RELEASE_FACILITY_NAMED = ReleaseRule(
    "RELEASE-FACILITY-UNKNOWN",
    "ASRM Art. 4(1) and Ch. IV (the processing facility is named in the plan and authorised)",
    _("The donation names the processing facility that made the lot."),
)
RELEASE_RULES: tuple[ReleaseRule, ...] = (
    RELEASE_OPEN_DEVIATION,
    RELEASE_EM_EXCURSION,
    RELEASE_FACILITY_NAMED,
)
