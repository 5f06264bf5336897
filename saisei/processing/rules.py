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
    "Viral screening before harvest, a positive result excluding the patient (facts manufacturing "
    "§4.2, Japanese clinic practice); the exact list is the plan's [U], so it is configurable"
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
class ProcessingConfig:
    """Per-site processing configuration.

    - facility_id / pdc: the CPC's ICCBBA Facility Identification Number and the Product
      Description Code of its MSC(AT) product; licensed data (ST-001 §1), so supplied by the site.
      The defaults are placeholders for demonstration only.
    - collection_type: ``1`` = for autologous use only (ST-001 Table 7 [RT008]).
    - required_markers: donor tests required negative before processing.
    - transport limits: °C range a transport leg must stay within (FACT CM10 leaves it to the SOP).
    - tissue_pdc: product description code printed on the tissue container (licensed, site-supplied).
    - tissue_use_within_hours: time from collection within which processing must start [U].
    - dose_shelf_life_days: cryopreserved shelf life used for the label expiry [U].
    - post_thaw_use_hours: time from thaw to administration [U].
    """

    facility_id: str = "A9999"
    pdc: str = "S9999"
    collection_type: str = "1"
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
