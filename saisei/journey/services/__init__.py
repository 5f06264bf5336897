"""Writes for the patient journey: <noun>_<verb>(*, actor, ...) inside a transaction, audited."""

from .intake import (
    guarantor_record,
    inquiry_status_change,
    inquiry_submit,
    inquiry_token,
    patient_enrol,
    portal_link_issue,
    portal_link_redeem,
    visa_checklist_ensure,
    visa_document_update,
)

__all__ = [
    "guarantor_record",
    "inquiry_status_change",
    "inquiry_submit",
    "inquiry_token",
    "patient_enrol",
    "portal_link_issue",
    "portal_link_redeem",
    "visa_checklist_ensure",
    "visa_document_update",
]

from .care import (
    consent_document_create,
    consent_give,
    consent_withdraw,
    course_instantiate,
    course_schedule,
    course_step_complete,
    course_step_record_administration,
    itinerary_plan,
    itinerary_replan,
    itinerary_save,
    package_create,
    plan_version_in_force,
    prescreen_decide,
    prescreen_record,
    price_list_create,
    quote_accept,
    quote_create,
    quote_issue,
    step_gate_check,
)

__all__ += [
    "consent_document_create",
    "consent_give",
    "consent_withdraw",
    "course_instantiate",
    "course_schedule",
    "course_step_complete",
    "course_step_record_administration",
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
