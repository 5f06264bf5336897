from django.urls import path, re_path

from saisei.interop import views

app_name = "interop"

urlpatterns: list = []

# Mounted at /fhir/R4/ by saisei.urls (FHIR's REST layout: [base]/[type]/[id]).
fhir_urlpatterns = [
    path("metadata", views.metadata, name="fhir_metadata"),
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
