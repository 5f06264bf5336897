"""Donor eligibility criteria for allogeneic cells, as data with their sources.

Japan's ASRM Enforcement Regulation makes the donor's eligibility result part of the record of
each provision (Art. 34, cell information: where and when collected, donor eligibility, tests)
and asks for donor consent when the cells come from someone other than the patient; it does not
list the tests here, so the list follows the EU donor-testing rules (Commission Directive
2006/17/EC) and is configurable: ``SAISEI_DONOR_CRITERIA = ["code", ...]`` selects the required
criteria (unknown codes are refused at start-up by ``donor_criteria``).

A donor is eligible only when every required criterion is recorded as passed; pending, failed or
missing answers all mean not eligible (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class DonorCriterion:
    code: str
    label: str  # English msgid
    kind: str  # "test" (laboratory) or "history" (interview)
    source: str
    certain: bool = True


_TESTS = "Commission Directive 2006/17/EC Annex II §1 (laboratory tests required for donors)"
_HTLV = (
    "Commission Directive 2006/17/EC Annex II §2 (HTLV-I antibody for donors living in or coming "
    "from high-incidence areas; Japan is one)"
)
_HISTORY = "Commission Directive 2006/17/EC Annex I (selection criteria for donors)"
_JAPAN = (
    "ASRM Enforcement Regulation Art. 34 (the donor eligibility result is recorded); the tests "
    "themselves are not listed there"
)

DONOR_CRITERIA: tuple[DonorCriterion, ...] = (
    DonorCriterion("hiv_ab", gettext_noop("HIV-1/2 antibody negative"), "test", _TESTS),
    DonorCriterion("hbs_ag", gettext_noop("Hepatitis B surface antigen negative"), "test", _TESTS),
    DonorCriterion("hbc_ab", gettext_noop("Hepatitis B core antibody negative"), "test", _TESTS),
    DonorCriterion("hcv_ab", gettext_noop("Hepatitis C antibody negative"), "test", _TESTS),
    DonorCriterion("syphilis", gettext_noop("Syphilis test negative"), "test", _TESTS),
    DonorCriterion("htlv1_ab", gettext_noop("HTLV-1 antibody negative"), "test", _HTLV),
    DonorCriterion(
        "no_transmissible_history",
        gettext_noop("No history of a transmissible disease, malignancy or prion disease"),
        "history",
        _HISTORY,
    ),
    DonorCriterion(
        "no_xeno_or_recent_transfusion",
        gettext_noop("No xenotransplant; no transfusion or transplant in the exclusion period"),
        "history",
        _HISTORY,
        certain=False,
    ),
)

RESULTS = ("pass", "fail", "pending")
BY_CODE = {c.code: c for c in DONOR_CRITERIA}
JAPAN_SOURCE = _JAPAN


def donor_criteria() -> tuple[DonorCriterion, ...]:
    """The required criteria: all by default, or the configured selection."""
    configured = getattr(settings, "SAISEI_DONOR_CRITERIA", None)
    if not configured:
        return DONOR_CRITERIA
    unknown = [c for c in configured if c not in BY_CODE]
    if unknown:
        raise ImproperlyConfigured(f"SAISEI_DONOR_CRITERIA names unknown criteria: {unknown}")
    return tuple(BY_CODE[c] for c in configured)
