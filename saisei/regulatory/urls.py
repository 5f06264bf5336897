from django.urls import path

from saisei.regulatory import filings_views, views

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
]
