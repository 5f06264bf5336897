"""Outcomes and safety data for research, as a REDCap project: a data dictionary and its records.

REDCap (Vanderbilt) imports a project's design as a data dictionary (a CSV file with 18 fixed
columns, one row per variable) and its data as a CSV file whose columns are those variables. This
module builds both from the same table of variables, so every column of the records file is in
the dictionary and every coded value is one of its choices.

- One record per patient; ``record_id`` (the first field of the first instrument, as REDCap
  requires) is the clinic's patient code, a pseudonym: names, contact details and dates of birth
  are never exported (year of birth only).
- One instrument per form: ``demographics`` once per record; ``infusions``, ``assessments``,
  ``biomarkers`` and ``adverse_events`` are repeating instruments (REDCap's "Repeating
  instruments" setting, classic project): each row names its instrument in
  ``redcap_repeat_instrument`` and its number in ``redcap_repeat_instance``, counted per record
  in date order.
- Coded values are numbered choices ("1, Label | 2, Label"), the number being the value's
  position in the model's list of choices (kept stable: new values are appended).
- Reads go through each app's selector with the requester's roles and organisation, one query
  per instrument whatever the number of rows, streamed in chunks.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from saisei.core.models import User
from saisei.core.timezones import TOKYO

# REDCap's data dictionary columns, in its order (as REDCap's "Download the current Data
# Dictionary" writes them).
DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# REDCap's own columns of a records file with repeating instruments (never in the dictionary).
REPEAT_COLUMNS = ("redcap_repeat_instrument", "redcap_repeat_instance")
RECORD_ID = "record_id"
CHUNK = 500


def _text(value: Any) -> str:
    """A value as REDCap reads it: dates Y-M-D, numbers with a point, yes/no as 1/0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, TOKYO).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)


@dataclass(frozen=True)
class Choices:
    """Numbered choices for a coded value: ((number, label), ...) and value -> number."""

    items: tuple[tuple[str, Any], ...]
    codes: dict[Any, str]

    @classmethod
    def of_field(cls, model: str, field: str) -> Choices:
        """The choices of a model field, numbered in the order the model declares them."""
        choices = apps.get_model(model)._meta.get_field(field).choices or ()
        return cls.of(choices)

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, Any]]) -> Choices:
        items = []
        codes = {}
        for number, (value, label) in enumerate(pairs, start=1):
            items.append((str(number), label))
            codes[value] = str(number)
        return cls(tuple(items), codes)

    def render(self) -> str:
        return " | ".join(f"{number}, {label}" for number, label in self.items)


@dataclass(frozen=True)
class Variable:
    name: str
    label: Any
    value: Callable[[Any], Any]
    type: str = "text"
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    choices: Choices | None = None
    identifier: bool = False
    required: bool = False
    note: Any = ""

    def cell(self, row: Any) -> str:
        raw = self.value(row)
        if self.choices is not None:
            return self.choices.codes.get(raw, "") if raw not in (None, "") else ""
        return _text(raw)

    def dictionary_row(self, form: str) -> list[str]:
        cells = dict.fromkeys(DICTIONARY_COLUMNS, "")
        cells.update(
            {
                "Variable / Field Name": self.name,
                "Form Name": form,
                "Field Type": self.type,
                "Field Label": str(self.label),
                "Choices, Calculations, OR Slider Labels": (
                    self.choices.render() if self.choices is not None else ""
                ),
                "Field Note": str(self.note),
                "Text Validation Type OR Show Slider Number": self.validation,
                "Text Validation Min": self.minimum,
                "Text Validation Max": self.maximum,
                "Identifier?": "y" if self.identifier else "",
                "Required Field?": "y" if self.required else "",
            }
        )
        return [cells[c] for c in DICTIONARY_COLUMNS]


@dataclass(frozen=True)
class Form:
    """One REDCap instrument; ``rows`` reads its records, ordered by patient then date."""

    name: str
    repeating: bool
    variables: tuple[Variable, ...]
    rows: Callable[[User], QuerySet]
    record: Callable[[Any], str] = lambda row: row.patient.patient_code


def _date(name: str, label: Any, field: str) -> Variable:
    return Variable(
        name,
        label,
        lambda row: getattr(row, field),
        validation="date_ymd",
        required=True,
        identifier=False,
    )


def _integer(name: str, label: Any, value: Callable[[Any], Any], **kw: Any) -> Variable:
    return Variable(name, label, value, validation="integer", **kw)


def _number(name: str, label: Any, value: Callable[[Any], Any], **kw: Any) -> Variable:
    return Variable(name, label, value, validation="number", **kw)


def _coded(name: str, label: Any, value: Callable[[Any], Any], choices: Choices) -> Variable:
    return Variable(
        name, label, value, type="radio" if len(choices.items) <= 5 else "dropdown", choices=choices
    )


def _yes_no(name: str, label: Any, field: str) -> Variable:
    return Variable(name, label, lambda row: bool(getattr(row, field)), type="yesno")


# --- where each instrument's rows come from (the owning apps' selectors) ---------------------


def _patients(actor: User) -> QuerySet:
    from saisei.journey import selectors

    return selectors.patient_list(actor=actor).select_related(None).order_by("pk")


def _live(qs: QuerySet, *order: str) -> QuerySet:
    """Rows of patients still on the register, with the patient's code, in ``order``: only the
    patient is read with them (not the people a list page prefetches)."""
    return (
        qs.filter(patient__voided_at__isnull=True)
        .select_related(None)
        .select_related("patient")
        .prefetch_related(None)
        .order_by("patient_id", *order, "pk")
    )


def _infusions(actor: User) -> QuerySet:
    from saisei.treatment import selectors

    return _live(selectors.administration_list(actor=actor), "started_at")


def _assessments(actor: User) -> QuerySet:
    from saisei.outcomes import selectors

    return _live(selectors.assessment_list(actor=actor), "assessed_on")


def _biomarkers(actor: User) -> QuerySet:
    from saisei.outcomes import selectors

    return _live(selectors.biomarker_result_list(actor=actor), "collected_on").select_related(
        "definition"
    )


def _adverse_events(actor: User) -> QuerySet:
    from saisei.safety import selectors

    return _live(selectors.adverse_event_list(actor=actor), "onset_date").select_related(
        "administration"
    )


def _instrument_choices() -> Choices:
    from saisei.outcomes.instruments import INSTRUMENTS

    return Choices.of((code, f"{code}: {inst.name}") for code, inst in INSTRUMENTS.items())


def _grade_choices() -> Choices:
    # CTCAE v5.0 grades (NCI): 1 mild … 5 death related to the event.
    return Choices.of(
        (
            (1, _("Grade 1 (mild)")),
            (2, _("Grade 2 (moderate)")),
            (3, _("Grade 3 (severe)")),
            (4, _("Grade 4 (life-threatening)")),
            (5, _("Grade 5 (death)")),
        )
    )


def forms() -> tuple[Form, ...]:
    """The instruments of the research project, in REDCap's order (record_id first)."""
    relatedness = Choices.of_field("safety.AdverseEvent", "related_cells")
    outcome = Choices.of_field("safety.AdverseEvent", "outcome")
    return (
        Form(
            "demographics",
            repeating=False,
            rows=_patients,
            record=lambda patient: patient.patient_code,
            variables=(
                Variable(
                    RECORD_ID,
                    _("Study code"),
                    lambda patient: patient.patient_code,
                    identifier=True,
                    required=True,
                    note=_("The clinic's patient code, a pseudonym; names are not exported."),
                ),
                _coded(
                    "dem_sex",
                    pgettext_lazy("person", "Sex"),
                    lambda patient: patient.sex,
                    Choices.of_field("journey.Patient", "sex"),
                ),
                _integer(
                    "dem_birth_year",
                    _("Year of birth"),
                    lambda patient: patient.date_of_birth.year if patient.date_of_birth else None,
                    minimum="1900",
                    maximum="2100",
                ),
                Variable(
                    "dem_country",
                    _("Country of residence"),
                    lambda patient: patient.country,
                    identifier=True,
                ),
                Variable(
                    "dem_diagnosis",
                    _("Diagnosis (coded)"),
                    lambda patient: patient.diagnosis_code,
                    note=_("ICD-10 or SNOMED CT code, as the clinic recorded it."),
                ),
            ),
        ),
        Form(
            "infusions",
            repeating=True,
            rows=_infusions,
            variables=(
                _date("inf_date", _("Date of infusion"), "started_at"),
                _integer("inf_number", _("Infusion number"), lambda a: a.number, minimum="1"),
                _coded(
                    "inf_route",
                    _("Route"),
                    lambda a: a.route,
                    Choices.of_field("treatment.Administration", "route"),
                ),
                _integer("inf_cells", _("Cells given"), lambda a: a.cells_given, note=_("cells")),
                _number(
                    "inf_cells_per_kg",
                    _("Cells per kg of body weight"),
                    lambda a: a.cells_per_kg,
                    note=_("cells/kg"),
                ),
                _number("inf_volume_ml", _("Volume"), lambda a: a.volume_ml, note="mL"),
                _coded(
                    "inf_status",
                    pgettext_lazy("infusion", "Status"),
                    lambda a: a.status,
                    Choices.of_field("treatment.Administration", "status"),
                ),
            ),
        ),
        Form(
            "assessments",
            repeating=True,
            rows=_assessments,
            variables=(
                _date("asmt_date", _("Date of assessment"), "assessed_on"),
                _coded(
                    "asmt_instrument",
                    _("Instrument"),
                    lambda a: a.instrument,
                    _instrument_choices(),
                ),
                Variable("asmt_version", _("Instrument version"), lambda a: a.instrument_version),
                _number("asmt_total", _("Total score"), lambda a: a.total),
                _coded(
                    "asmt_mode",
                    _("How it was done"),
                    lambda a: a.mode,
                    Choices.of_field("outcomes.Assessment", "mode"),
                ),
                _coded(
                    "asmt_source",
                    _("Entered by"),
                    lambda a: a.source,
                    Choices.of_field("outcomes.Assessment", "source"),
                ),
            ),
        ),
        Form(
            "biomarkers",
            repeating=True,
            rows=_biomarkers,
            variables=(
                _date("bm_date", _("Date the sample was collected"), "collected_on"),
                Variable("bm_code", _("Biomarker code"), lambda r: r.definition.code),
                Variable("bm_marker", _("Biomarker"), lambda r: r.definition.name),
                Variable(
                    "bm_loinc",
                    _("LOINC code"),
                    lambda r: r.definition.loinc,
                    note=_("Blank where the clinic has not confirmed a LOINC code."),
                ),
                _number("bm_value", _("Value"), lambda r: r.value),
                Variable("bm_unit", _("Unit"), lambda r: r.unit, note="UCUM"),
            ),
        ),
        Form(
            "adverse_events",
            repeating=True,
            rows=_adverse_events,
            variables=(
                Variable(
                    "ae_number",
                    _("Event number"),
                    lambda e: e.number,
                    identifier=True,
                    note=_("The clinic's reference, to look the event up with the clinic."),
                ),
                Variable("ae_term", _("Event term"), lambda e: e.term),
                Variable("ae_meddra", _("MedDRA code"), lambda e: e.meddra_code),
                _date("ae_onset", _("Onset date"), "onset_date"),
                _coded(
                    "ae_grade",
                    _("Severity grade (CTCAE)"),
                    lambda e: e.severity_grade,
                    _grade_choices(),
                ),
                Variable("ae_serious", _("Serious"), lambda e: e.serious, type="yesno"),
                _yes_no("ae_death", _("Serious: death"), "death"),
                _yes_no("ae_life_threat", _("Serious: life-threatening"), "life_threatening"),
                _yes_no("ae_hospital", _("Serious: hospitalisation"), "hospitalisation"),
                _yes_no("ae_disability", _("Serious: disability or incapacity"), "disability"),
                _yes_no("ae_congenital", _("Serious: congenital anomaly"), "congenital_anomaly"),
                _yes_no(
                    "ae_other_serious",
                    _("Serious: other medically important event"),
                    "other_medically_important",
                ),
                _coded(
                    "ae_rel_harvest",
                    _("Related to the harvest"),
                    lambda e: e.related_harvest,
                    relatedness,
                ),
                _coded(
                    "ae_rel_cells",
                    _("Related to the cells"),
                    lambda e: e.related_cells,
                    relatedness,
                ),
                _coded(
                    "ae_rel_infusion",
                    _("Related to the administration"),
                    lambda e: e.related_administration,
                    relatedness,
                ),
                _coded("ae_outcome", _("Outcome"), lambda e: e.outcome, outcome),
                _integer(
                    "ae_infusion_number",
                    _("Infusion number it followed"),
                    lambda e: e.administration.number if e.administration else None,
                    note=_("The number of the infusion in this record's infusions, if any."),
                ),
            ),
        ),
    )


def dictionary_rows() -> Iterator[list[str]]:
    """The data dictionary: its header, then one row per variable."""
    yield list(DICTIONARY_COLUMNS)
    for form in forms():
        for variable in form.variables:
            yield variable.dictionary_row(form.name)


def record_columns(all_forms: tuple[Form, ...]) -> list[str]:
    names = [v.name for form in all_forms for v in form.variables]
    return [RECORD_ID, *REPEAT_COLUMNS, *[n for n in names if n != RECORD_ID]]


def record_rows(actor: User) -> Iterator[list[str]]:
    """The records file: the header, then one row per patient and one per repeating instance."""
    all_forms = forms()
    columns = record_columns(all_forms)
    position = {name: i for i, name in enumerate(columns)}
    yield columns
    for form in all_forms:
        cells = [(position[v.name], v) for v in form.variables if v.name != RECORD_ID]
        instances: dict[str, int] = {}
        for row in form.rows(actor).iterator(chunk_size=CHUNK):
            line = [""] * len(columns)
            record = form.record(row)
            line[0] = record
            if form.repeating:
                instances[record] = instances.get(record, 0) + 1
                line[1] = form.name
                line[2] = str(instances[record])
            for index, variable in cells:
                line[index] = variable.cell(row)
            yield line


class _Echo:
    """A file-like object whose ``write`` returns what it was given (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    for row in rows:
        yield writer.writerow(row)
