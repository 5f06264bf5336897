from django.urls import path, re_path

from saisei.interop import bulk_views, views

app_name = "interop"

urlpatterns: list = [
    path("exports/", views.export_page, name="exports"),
    re_path(
        r"^exports/redcap/(?P<part>dictionary|records)\.csv$",
        views.redcap_download,
        name="redcap",
    ),
]

# Mounted at /fhir/R4/ by saisei.urls (FHIR's REST layout: [base]/[type]/[id]).
fhir_urlpatterns = [
    path("metadata", views.metadata, name="fhir_metadata"),
    path("$export", bulk_views.export_system, name="fhir_export"),
    path("Patient/$export", bulk_views.export_patients, name="fhir_export_patients"),
    re_path(
        r"^Group/(?P<group_id>[A-Za-z0-9\-.]{1,64})/\$export$",
        bulk_views.export_group,
        name="fhir_export_group",
    ),
    re_path(
        r"^\$export-status/(?P<export_id>[A-Za-z0-9\-]{1,64})$",
        bulk_views.export_status,
        name="fhir_export_status",
    ),
    re_path(
        r"^\$export-file/(?P<export_id>[A-Za-z0-9\-]{1,64})/(?P<name>[A-Za-z]{1,64}\.ndjson)$",
        bulk_views.export_file,
        name="fhir_export_file",
    ),
    re_path(
        r"^Patient/(?P<resource_id>[A-Za-z0-9\-.]{1,64})/\$everything$",
        views.patient_everything,
        name="fhir_patient_everything",
    ),
    re_path(r"^(?P<resource_type>[A-Z][A-Za-z]+)$", views.search, name="fhir_search"),
    re_path(
        r"^(?P<resource_type>[A-Z][A-Za-z]+)/(?P<resource_id>[A-Za-z0-9\-.]{1,64})$",
        views.read,
        name="fhir_read",
    ),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
