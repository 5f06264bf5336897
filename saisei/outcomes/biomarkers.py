"""Default blood-biomarker definitions (facts/outcomes.md §5), copied into each clinic's editable table.

LOINC codes are data because public code lists disagree; rows the sheet marks uncertain say so.
Reference limits are assay-specific (Mayo CLEIA for p-tau217, Quest LC-MS/MS for Aβ42/40), so a
clinic using another lab must replace them.
"""

from __future__ import annotations

from typing import Any

DEFAULT_BIOMARKERS: tuple[dict[str, Any], ...] = (
    {
        "code": "PTAU217",
        "name": "Plasma p-tau217",
        "unit": "pg/mL",
        "matrix": "plasma",
        "reference_low": None,
        "reference_high": 0.185,
        "reference_note": "Mayo CLEIA: negative ≤0.185, intermediate 0.186–0.324, positive ≥0.325; "
        "symptomatic people aged 50+ only, not a screening test.",
        "loinc": "104663-0",
        "loinc_uncertain": False,
        "exploratory": False,
        "source": "Laboratory test catalogue: https://labs.northwell.edu/epic/test/189184 ; https://testcatalog.org/show/PT217",
    },
    {
        "code": "NFL",
        "name": "Neurofilament light chain (NfL)",
        "unit": "pg/mL",
        "matrix": "plasma",
        "reference_low": None,
        "reference_high": 37.1,
        "reference_note": "Age-dependent (e.g. 70–74 y ≤37.1, ≥85 y ≤54.3 pg/mL); rises 2–3%/yr with age; "
        "plasma runs 5–10% below serum.",
        "loinc": "101281-4",
        "loinc_uncertain": True,
        "exploratory": False,
        "source": "Laboratory test catalogue: https://qa.testcatalog.org/show/NFLC (other catalogues use other codes)",
    },
    {
        "code": "GFAP",
        "name": "Glial fibrillary acidic protein (GFAP)",
        "unit": "pg/mL",
        "matrix": "plasma",
        "reference_low": None,
        "reference_high": 120.8,
        "reference_note": "Mayo plasma, age ≥70: ≤120.8 pg/mL; plasma runs higher than serum, do not mix.",
        "loinc": "97604-3",
        "loinc_uncertain": False,
        "exploratory": False,
        "source": "Laboratory test catalogue: https://tidalhealth.testcatalog.org/show/GFAPP",
    },
    {
        "code": "AB4240",
        "name": "Plasma amyloid-β 42/40 ratio",
        "unit": "ratio",
        "matrix": "plasma",
        "reference_low": 0.170,
        "reference_high": None,
        "reference_note": "Quest LC-MS/MS: ≥0.170 normal; <0.160 makes amyloid PET positivity more likely.",
        "loinc": "",
        "loinc_uncertain": True,
        "exploratory": False,
        "source": "Laboratory test catalogue: https://questdiagnostics.com./healthcare-professionals/clinical-education-center/faq/faq303",
    },
    {
        "code": "BDNF",
        "name": "Brain-derived neurotrophic factor (BDNF)",
        "unit": "ng/mL",
        "matrix": "serum",
        "reference_low": None,
        "reference_high": None,
        "reference_note": "No validated reference; serum levels reflect platelet release. Exploratory only.",
        "loinc": "",
        "loinc_uncertain": True,
        "exploratory": True,
        "source": "No LOINC code found in public lists; not a validated Alzheimer's biomarker",
    },
)
