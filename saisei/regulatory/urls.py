from django.urls import path

from saisei.regulatory import duties_views, filings_views, views

app_name = "regulatory"

urlpatterns: list = [
    path("", views.dashboard, name="dashboard"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path(
        "plans/<uuid:external_id>/versions/<uuid:version_id>/edit/",
        views.plan_version_edit,
        name="plan_version_edit",
    ),
    path("plans/<uuid:external_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<uuid:external_id>/transition/", views.plan_transition, name="plan_transition"),
    path(
        "plans/<uuid:external_id>/periodic/<int:index>/",
        views.periodic_report,
        name="periodic_report",
    ),
    path(
        "plans/<uuid:external_id>/periodic/<int:index>/pdf/",
        views.periodic_report_pdf,
        name="periodic_report_pdf",
    ),
    path(
        "plans/<uuid:external_id>/periodic/<int:index>/data.json",
        views.periodic_report_data,
        name="periodic_report_data",
    ),
    path(
        "plans/<uuid:external_id>/periodic/<int:index>/<str:action>/",
        views.periodic_report_action,
        name="periodic_report_action",
    ),
    path("obligations/", views.obligation_list, name="obligation_list"),
    path("obligations/<uuid:external_id>/done/", views.obligation_done, name="obligation_done"),
    path("gate-refusals/", views.gate_refusal_list, name="gate_refusal_list"),
    path("registry/", views.registry, name="registry"),
    path("registry/add/<str:kind>/", views.registry_add, name="registry_add"),
    # Official forms, plan export and standard documents (issue 16).
    path("forms/", filings_views.forms_home, name="forms_home"),
    path("forms/<str:form_code>/<uuid:subject>/", filings_views.form_check, name="form_check"),
    path(
        "documents/<uuid:external_id>/pdf/",
        filings_views.filed_document_pdf,
        name="filed_document_pdf",
    ),
    path(
        "plans/<uuid:external_id>/export.<str:fmt>",
        filings_views.plan_export_download,
        name="plan_export",
    ),
    path("standard-documents/", filings_views.standard_documents, name="standard_documents"),
    # The CPC's licence register and changes; the clinic's own duties (issue 16).
    path("facilities/<uuid:external_id>/", duties_views.facility_detail, name="facility_detail"),
    path(
        "facilities/<uuid:external_id>/authorisations/new/",
        duties_views.authorisation_add,
        name="facility_authorisation_add",
    ),
    path(
        "facilities/<uuid:external_id>/authorisations/<uuid:record_id>/end/",
        duties_views.authorisation_end,
        name="facility_authorisation_end",
    ),
    path(
        "facilities/<uuid:external_id>/changes/new/",
        duties_views.facility_change_add,
        name="facility_change_add",
    ),
    path("duties/", duties_views.duties, name="duties"),
    path("duties/complaints/new/", duties_views.complaint_add, name="complaint_add"),
    path(
        "duties/complaints/<uuid:external_id>/respond/",
        duties_views.complaint_respond,
        name="complaint_respond",
    ),
    path(
        "duties/complaints/<uuid:external_id>/<str:move>/",
        duties_views.complaint_move,
        name="complaint_move",
    ),
    path("duties/checks/new/", duties_views.check_add, name="check_add"),
    path(
        "duties/checks/<uuid:external_id>/sign-off/",
        duties_views.check_sign_off,
        name="check_sign_off",
    ),
    path("duties/opinions/new/", duties_views.opinion_add, name="opinion_add"),
    path(
        "duties/opinions/<uuid:external_id>/actions/new/",
        duties_views.action_add,
        name="action_add",
    ),
    path(
        "duties/actions/<uuid:external_id>/close/",
        duties_views.action_close,
        name="action_close",
    ),
]
