"""Writes for processing: ``<noun>_<verb>(*, actor, ...)``, each checked, atomic and audited."""

from .culture import culture_alert_follow_up, culture_step_record
from .custody import chain_of_custody, custody_handover, near_miss_record, parse_logger_csv
from .deviation import deviation_open, deviation_update
from .donation import donation_markers_record, donation_record, markers_status
from .donor import (
    donation_donor_check,
    donor_consent_record,
    donor_consent_withdraw,
    donor_eligible,
    donor_problems,
    donor_register,
    donor_screening_record,
)
from .dose import (
    donation_label,
    donation_label_print,
    dose_administer,
    dose_cryopreserve,
    dose_discard,
    dose_divide,
    dose_label,
    dose_thaw,
    label_print,
    label_reconcile,
)
from .environment import (
    environmental_result_record,
    monitoring_programme_approve,
    monitoring_programme_prepare,
    programme_in_force,
)
from .hold import dose_hold_lift, dose_report_unusable, doses_hold_for_adverse_event
from .identity import (
    collection_type_for_cell_source,
    donation_collection_type,
    donation_course_bind,
    donation_course_coi,
    dose_course_coi,
)
from .lot import (
    lot_create,
    lot_quarantine,
    lot_quarantine_lift,
    lot_readiness,
    lot_reforecast,
    lot_reject,
    lot_specifications,
    lot_submit_qc,
)
from .qc import qc_result_record
from .release import (
    ReleaseCheck,
    ReleaseFinding,
    lot_clean_findings,
    lot_release,
    lot_release_check,
)

__all__ = [
    "ReleaseCheck",
    "ReleaseFinding",
    "chain_of_custody",
    "collection_type_for_cell_source",
    "culture_alert_follow_up",
    "culture_step_record",
    "custody_handover",
    "deviation_open",
    "deviation_update",
    "donation_collection_type",
    "donation_course_bind",
    "donation_course_coi",
    "donation_donor_check",
    "donation_label",
    "donation_label_print",
    "donation_markers_record",
    "donation_record",
    "donor_consent_record",
    "donor_consent_withdraw",
    "donor_eligible",
    "donor_problems",
    "donor_register",
    "donor_screening_record",
    "dose_administer",
    "dose_course_coi",
    "dose_cryopreserve",
    "dose_discard",
    "dose_divide",
    "dose_hold_lift",
    "dose_label",
    "dose_report_unusable",
    "dose_thaw",
    "doses_hold_for_adverse_event",
    "environmental_result_record",
    "label_print",
    "label_reconcile",
    "lot_clean_findings",
    "lot_create",
    "lot_quarantine",
    "lot_quarantine_lift",
    "lot_readiness",
    "lot_reforecast",
    "lot_reject",
    "lot_release",
    "lot_release_check",
    "lot_specifications",
    "lot_submit_qc",
    "markers_status",
    "monitoring_programme_approve",
    "monitoring_programme_prepare",
    "near_miss_record",
    "parse_logger_csv",
    "programme_in_force",
    "qc_result_record",
]
