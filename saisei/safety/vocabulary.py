"""Adverse-event vocabulary after liposuction (adipose harvest) and MSC administration, as data.

Each term says where it comes from (facts/outcomes.md §6.1) so the safety app can offer the right
pick-list per procedure and show staff why a term is monitored. Coding to MedDRA or SNOMED CT is
left empty until licences and codes are checked; grade with CTCAE-style grades 1–5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import NotFound


class Context(StrEnum):
    """The procedure after which the term is expected or watched for."""

    LIPOSUCTION = "liposuction"
    IV_MSC = "iv_msc"
    INTRAVENTRICULAR = "intraventricular"  # ICV via Ommaya reservoir, or stereotactic injection
    CONCOMITANT = "concomitant"  # risks of other therapies the patient may be on (anti-amyloid)


class Kind(StrEnum):
    EXPECTED_EFFECT = "expected_effect"  # usual after the procedure; record, not a complication
    COMPLICATION = "complication"
    SERIOUS = "serious"  # potentially life-threatening; consider expedited reporting
    MONITORED_SIGN = "monitored_sign"  # symptom/sign to ask about actively
    LAB = "lab"  # laboratory or imaging finding


@dataclass(frozen=True)
class AeTerm:
    code: str
    label: Any
    contexts: tuple[Context, ...]
    kind: Kind
    evidence: str  # what is known about frequency or link, in our words
    sources: tuple[str, ...]
    monitored: bool = False  # ask about it at every follow-up after the procedure
    uncertain: bool = False
    meddra_pt: str | None = None  # fill once a MedDRA subscription is confirmed
    snomed_ct: str | None = None


GRADING = (
    "CTCAE-style grades 1–5, as reported in CLEAR MIND "
    "(NCT05233774, https://clinicaltrials.gov/study/NCT05233774)"
)

_LIPO = (
    "http://expertliposuction.com/liposuction-faqs/liposuction-complications/",
    "https://www.hughesplasticsurgery.com/blog/liposuction-article-4/",
    "https://www.dermatologyadvisor.com/home/topics/aesthetic-medicine/liposuction-reducing-complications-as-well-as-fat/",
    "https://www.liposuction.com/complications-risks-html",
)
_META_2020 = "https://pubmed.ncbi.nlm.nih.gov/31989101/"
_META_2021 = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8522073"
_META_152 = "https://staging.scite.ai/reports/phase-2a-randomized-controlled-study-MVb9xKKl"
_INFUSION = "https://pmc.ncbi.nlm.nih.gov/articles/PMC8666565/table/T5"
_THROMBO = (
    "http://thno.org/v08p1421.htm",
    "https://www.ncbi.nlm.nih.gov/pubmed/23313481",
    "https://pubmed.ncbi.nlm.nih.gov/23918585",
    "https://ouci.dntb.gov.ua/en/works/lRnrVxEl",
    "https://ouci.dntb.gov.ua/works/7qnnkOK4",
)
_CLEAR_MIND = (
    "http://47.251.13.51:8081/40065171",
    "https://api-pubmed-ncbi.laibokeji.com/39782483",
)
_ICV = (
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC8439008",
    "https://pubmed.ncbi.nlm.nih.gov./29854930",
)
_ARIA = ("https://medsummariesweekly.com/lecanemab-in-early-alzheimers-disease",)
_UNREGULATED = (
    "https://www.aboutlawsuits.com/topics/genentech/",
    "https://medworm.com/534923645/fda-seeks-injunction-to-stop-two-stem-cell-companies-after-patients-blinded/",
)

L, IV, ICV, CON = Context.LIPOSUCTION, Context.IV_MSC, Context.INTRAVENTRICULAR, Context.CONCOMITANT

AE_TERMS: tuple[AeTerm, ...] = (
    # Liposuction: expected effects
    AeTerm(
        "bruising", _("Bruising"), (L,), Kind.EXPECTED_EFFECT, "Expected after liposuction.", _LIPO
    ),
    AeTerm(
        "swelling",
        _("Swelling"),
        (L,),
        Kind.EXPECTED_EFFECT,
        "Expected; resolves in about 4–12 weeks.",
        _LIPO,
    ),
    AeTerm(
        "numbness_temporary",
        _("Temporary numbness"),
        (L,),
        Kind.EXPECTED_EFFECT,
        "Expected; temporary.",
        _LIPO,
    ),
    # Liposuction: complications (about 5% of cases, mostly minor)
    AeTerm(
        "seroma",
        _("Seroma (fluid collection)"),
        (L,),
        Kind.COMPLICATION,
        "The most common complication.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "haematoma",
        _("Haematoma"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "wound_infection",
        _("Infection at the harvest site"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "contour_irregularity",
        _("Contour irregularity"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
    ),
    AeTerm(
        "hyperpigmentation",
        _("Skin darkening (hyperpigmentation)"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
    ),
    AeTerm(
        "skin_necrosis",
        _("Skin necrosis"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
    ),
    AeTerm(
        "nerve_injury",
        _("Nerve injury"),
        (L,),
        Kind.COMPLICATION,
        "Complication of liposuction.",
        _LIPO,
    ),
    # Liposuction: serious
    AeTerm(
        "fat_embolism",
        _("Fat embolism"),
        (L,),
        Kind.SERIOUS,
        "Below 0.1% of liposuctions.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "lidocaine_toxicity",
        _("Local anaesthetic (lidocaine) toxicity"),
        (L,),
        Kind.SERIOUS,
        "Serious complication of tumescent liposuction.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "fluid_overload",
        _("Fluid overload or pulmonary oedema"),
        (L,),
        Kind.SERIOUS,
        "Serious complication of liposuction.",
        _LIPO,
        monitored=True,
    ),
    AeTerm(
        "visceral_perforation",
        _("Perforation of an internal organ"),
        (L,),
        Kind.SERIOUS,
        "Very rare.",
        _LIPO,
    ),
    AeTerm(
        "delirium",
        _("Delirium (acute confusion)"),
        (L, ICV),
        Kind.SERIOUS,
        "Seen after stereotactic MSC injection (3 of 9). After liposuction in older people with dementia it is plausible, but no published report was found.",
        (*_ICV, *_LIPO),
        monitored=True,
        uncertain=True,
    ),
    # Thromboembolism: liposuction and IV MSC (tissue factor / IBMIR)
    AeTerm(
        "deep_vein_thrombosis",
        _("Deep vein thrombosis"),
        (L, IV),
        Kind.SERIOUS,
        "Liposuction: under 1%, higher with abdominoplasty. IV MSC: rare but documented; adipose and cord MSC carry more tissue factor than marrow MSC.",
        (*_LIPO, *_THROMBO),
        monitored=True,
    ),
    AeTerm(
        "pulmonary_embolism",
        _("Pulmonary embolism"),
        (L, IV),
        Kind.SERIOUS,
        "Reported after repeated IV autologous adipose cell infusions, including a fatal case.",
        (*_LIPO, *_THROMBO),
        monitored=True,
    ),
    AeTerm(
        "chest_pain",
        _("Chest pain"),
        (IV,),
        Kind.MONITORED_SIGN,
        "Warning sign of embolism after infusion.",
        _THROMBO,
        monitored=True,
    ),
    AeTerm(
        "dyspnoea",
        _("Shortness of breath"),
        (IV,),
        Kind.MONITORED_SIGN,
        "Warning sign of embolism after infusion.",
        _THROMBO,
        monitored=True,
    ),
    AeTerm(
        "hypoxia",
        _("Low blood oxygen"),
        (IV,),
        Kind.MONITORED_SIGN,
        "Warning sign of embolism after infusion.",
        _THROMBO,
        monitored=True,
    ),
    AeTerm(
        "d_dimer_raised",
        _("Raised D-dimer"),
        (IV,),
        Kind.LAB,
        "Monitored marker of clotting after infusion.",
        _THROMBO,
        monitored=True,
    ),
    # IV MSC: infusion
    AeTerm(
        "fever",
        _("Fever"),
        (IV, ICV),
        Kind.MONITORED_SIGN,
        "The one adverse event consistently raised by MSC in RCT meta-analyses (RR 2.48; OR 3.65; OR 1.61). Fever in all 9 after ICV injection, resolved within 36 h.",
        (_META_2020, _META_2021, _META_152, *_ICV),
        monitored=True,
    ),
    AeTerm(
        "facial_flushing",
        _("Facial flushing"),
        (IV,),
        Kind.MONITORED_SIGN,
        "Immediate infusion reaction in individual trials.",
        (_INFUSION,),
        monitored=True,
    ),
    AeTerm(
        "infusion_reaction",
        _("Acute infusion reaction"),
        (IV,),
        Kind.COMPLICATION,
        "No significant increase beyond fever in RCTs; still observed at the bedside.",
        (_META_2020,),
        monitored=True,
    ),
    AeTerm(
        "administration_site_reaction",
        _("Reaction at the infusion site"),
        (IV,),
        Kind.COMPLICATION,
        "Raised in one meta-analysis.",
        (_META_2021,),
    ),
    AeTerm(
        "constipation",
        _("Constipation"),
        (IV,),
        Kind.COMPLICATION,
        "Raised in one meta-analysis.",
        (_META_2021,),
    ),
    AeTerm(
        "fatigue",
        _("Tiredness (fatigue)"),
        (IV,),
        Kind.COMPLICATION,
        "Raised in one meta-analysis.",
        (_META_2021,),
    ),
    AeTerm(
        "insomnia",
        _("Sleeplessness"),
        (IV,),
        Kind.COMPLICATION,
        "Raised in one meta-analysis.",
        (_META_2021,),
    ),
    AeTerm(
        "product_contamination_infection",
        _("Infection or sepsis from a contaminated cell product"),
        (IV, ICV),
        Kind.SERIOUS,
        "Reported from unregulated clinics; no increase in infection in RCTs.",
        (*_UNREGULATED, _META_2020),
        monitored=True,
    ),
    # SAEs in CLEAR MIND treated arms (causality not established)
    AeTerm(
        "anaemia",
        _("Anaemia"),
        (IV,),
        Kind.SERIOUS,
        "Grade 3 SAE in a CLEAR MIND treated arm; causality not established.",
        _CLEAR_MIND,
    ),
    AeTerm(
        "lumbar_radiculopathy",
        _("Lumbar radiculopathy"),
        (IV,),
        Kind.SERIOUS,
        "Grade 4 SAE in a CLEAR MIND treated arm; causality not established.",
        _CLEAR_MIND,
    ),
    AeTerm(
        "acute_respiratory_failure",
        _("Acute respiratory failure"),
        (IV,),
        Kind.SERIOUS,
        "Grade 4 SAE in a CLEAR MIND treated arm; causality not established.",
        _CLEAR_MIND,
    ),
    # Intraventricular / stereotactic delivery
    AeTerm(
        "headache",
        _("Headache"),
        (ICV,),
        Kind.MONITORED_SIGN,
        "7 of 9 after ICV injection; 4 of 9 after stereotactic injection.",
        _ICV,
        monitored=True,
    ),
    AeTerm(
        "nausea",
        _("Nausea"),
        (ICV,),
        Kind.MONITORED_SIGN,
        "5 of 9 after ICV injection.",
        _ICV,
        monitored=True,
    ),
    AeTerm(
        "vomiting",
        _("Vomiting"),
        (ICV,),
        Kind.MONITORED_SIGN,
        "4 of 9 after ICV injection.",
        _ICV,
        monitored=True,
    ),
    AeTerm(
        "wound_pain",
        _("Wound pain"),
        (ICV,),
        Kind.EXPECTED_EFFECT,
        "9 of 9 after stereotactic injection.",
        _ICV,
    ),
    AeTerm(
        "dizziness",
        _("Dizziness"),
        (ICV,),
        Kind.MONITORED_SIGN,
        "3 of 9 after stereotactic injection.",
        _ICV,
        monitored=True,
    ),
    AeTerm(
        "device_complication",
        _("Reservoir or catheter complication"),
        (ICV,),
        Kind.COMPLICATION,
        "Ommaya device complications are not described in the published trials.",
        _ICV,
        uncertain=True,
        monitored=True,
    ),
    # Concomitant anti-amyloid antibodies: ARIA fields are needed even though MSC showed none.
    AeTerm(
        "aria_e",
        _("ARIA-E (brain swelling on MRI)"),
        (CON,),
        Kind.LAB,
        "Anti-amyloid antibody risk (lecanemab 12.6% vs 1.7%); none with Lomecel-B.",
        _ARIA,
        monitored=True,
    ),
    AeTerm(
        "aria_h",
        _("ARIA-H (microbleeds or siderosis on MRI)"),
        (CON,),
        Kind.LAB,
        "Anti-amyloid antibody risk; none with Lomecel-B.",
        _ARIA,
        monitored=True,
    ),
)

# Record these with every thromboembolic event so cell-related risk can be analysed (facts §6.1).
THROMBOEMBOLIC_CONTEXT_FIELDS: tuple[str, ...] = (
    "cell_source",
    "dose_cells",
    "passage",
    "infusion_rate",
)
THROMBOEMBOLIC_TERMS: frozenset[str] = frozenset(
    {
        "deep_vein_thrombosis",
        "pulmonary_embolism",
        "chest_pain",
        "dyspnoea",
        "hypoxia",
        "d_dimer_raised",
    }
)

LIPOSUCTION_RISK_NOTE = (
    "About 5% of liposuctions have complications, mostly minor; risk rises with larger volumes, general "
    "anaesthesia and combined procedures. Rates come from cosmetic surgery, not frail older adults with "
    "dementia, so the risk for them is not known."
)


def get_term(code: str) -> AeTerm:
    for term in AE_TERMS:
        if term.code == code:
            return term
    raise NotFound(_("Unknown adverse-event term."), code="outcomes.unknown_ae_term")


def terms_for(*, context: Context | str, kinds: Sequence[Kind] | None = None) -> list[AeTerm]:
    """Terms to offer after a procedure, serious ones first so they are never scrolled past."""
    ctx = Context(context)
    order = {
        Kind.SERIOUS: 0,
        Kind.MONITORED_SIGN: 1,
        Kind.LAB: 2,
        Kind.COMPLICATION: 3,
        Kind.EXPECTED_EFFECT: 4,
    }
    chosen = [t for t in AE_TERMS if ctx in t.contexts and (kinds is None or t.kind in kinds)]
    return sorted(chosen, key=lambda t: order[t.kind])


def monitored_terms(*, context: Context | str) -> list[AeTerm]:
    """Terms to ask about actively at each follow-up after the procedure."""
    return [t for t in terms_for(context=context) if t.monitored]
