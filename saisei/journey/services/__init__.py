"""Writes for the patient journey: <noun>_<verb>(*, actor, ...) inside a transaction, audited."""

from .intake import (
    guarantor_record,
    inquiry_record_referred,
    inquiry_status_change,
    inquiry_submit,
    inquiry_token,
    patient_diagnosis_set,
    patient_enrol,
    patient_record_referred,
    portal_link_issue,
    portal_link_redeem,
    visa_checklist_ensure,
    visa_document_update,
)

__all__ = [
    "guarantor_record",
    "inquiry_record_referred",
    "inquiry_status_change",
    "inquiry_submit",
    "inquiry_token",
    "patient_diagnosis_set",
    "patient_enrol",
    "patient_record_referred",
    "portal_link_issue",
    "portal_link_redeem",
    "visa_checklist_ensure",
    "visa_document_update",
]

from .consent import consent_document_create, consent_give, consent_withdraw
from .course import (
    course_instantiate,
    course_schedule,
    course_step_complete,
    course_step_record_administration,
    course_step_record_harvest,
    step_gate_check,
)
from .itinerary import itinerary_plan, itinerary_replan, itinerary_save
from .package import package_create
from .plan import plan_version_in_force
from .prescreen import prescreen_decide, prescreen_record
from .price_list import price_list_create
from .quote import quote_accept, quote_create, quote_issue

__all__ += [
    "consent_document_create",
    "consent_give",
    "consent_withdraw",
    "course_instantiate",
    "course_schedule",
    "course_step_complete",
    "course_step_record_administration",
    "course_step_record_harvest",
    "itinerary_plan",
    "itinerary_replan",
    "itinerary_save",
    "package_create",
    "plan_version_in_force",
    "prescreen_decide",
    "prescreen_record",
    "price_list_create",
    "quote_accept",
    "quote_create",
    "quote_issue",
    "step_gate_check",
]
