"""Regulatory writes and the compliance gate; the public names other apps import live here."""

from saisei.regulatory.services.duties import (
    committee_action_add,
    committee_action_close,
    committee_opinion_record,
    complaint_close,
    complaint_investigate,
    complaint_record,
    complaint_respond,
    periodic_check_schedule,
    periodic_check_sign_off,
)
from saisei.regulatory.services.facility import (
    facility_authorisation_end,
    facility_authorisation_record,
    facility_change_record,
)
from saisei.regulatory.services.filings import (
    filed_document_generate,
    form_version_add,
    form_version_current,
    form_versions_install,
    standard_document_add,
    standard_documents_in_force,
)
from saisei.regulatory.services.gate import (
    GateRefused,
    gate_check,
    gate_check_judged,
    gate_facts_load,
    gate_records,
    gate_refusal_record,
    gate_require,
)
from saisei.regulatory.services.obligations import (
    facility_obligations_refresh,
    obligation_mark_done,
    obligation_reminders_send,
    obligation_void,
    obligations_for_adverse_event,
    obligations_refresh_all,
    periodic_obligations_refresh,
)
from saisei.regulatory.services.plans import (
    plan_create,
    plan_follow_up_end_set,
    plan_transition,
    plan_version_update,
)
from saisei.regulatory.services.registry import (
    committee_create,
    facility_create,
    institution_create,
    physician_create,
)
from saisei.regulatory.services.reports import (
    periodic_report_assemble,
    periodic_report_record_review,
    periodic_report_record_submission,
)

__all__ = [
    "GateRefused",
    "committee_action_add",
    "committee_action_close",
    "committee_create",
    "committee_opinion_record",
    "complaint_close",
    "complaint_investigate",
    "complaint_record",
    "complaint_respond",
    "facility_authorisation_end",
    "facility_authorisation_record",
    "facility_change_record",
    "facility_create",
    "facility_obligations_refresh",
    "filed_document_generate",
    "form_version_add",
    "form_version_current",
    "form_versions_install",
    "gate_check",
    "gate_check_judged",
    "gate_facts_load",
    "gate_records",
    "gate_refusal_record",
    "gate_require",
    "institution_create",
    "obligation_mark_done",
    "obligation_reminders_send",
    "obligation_void",
    "obligations_for_adverse_event",
    "obligations_refresh_all",
    "periodic_check_schedule",
    "periodic_check_sign_off",
    "periodic_obligations_refresh",
    "periodic_report_assemble",
    "periodic_report_record_review",
    "periodic_report_record_submission",
    "physician_create",
    "plan_create",
    "plan_follow_up_end_set",
    "plan_transition",
    "plan_version_update",
    "standard_document_add",
    "standard_documents_in_force",
]
