from django.urls import path

from saisei.safety import views

app_name = "safety"

urlpatterns: list = [
    path("", views.event_list, name="event_list"),
    path("events/new/", views.event_new, name="event_new"),
    path("events/<uuid:external_id>/", views.event_detail, name="event_detail"),
    path("events/<uuid:external_id>/follow-up/", views.follow_up_add, name="follow_up_add"),
    path(
        "events/<uuid:external_id>/seriousness/",
        views.seriousness_update,
        name="seriousness_update",
    ),
    path("events/<uuid:external_id>/submissions/", views.submission_add, name="submission_add"),
    path("events/<uuid:external_id>/report.pdf", views.event_report_pdf, name="event_report_pdf"),
    path(
        "events/<uuid:external_id>/report.json", views.event_report_json, name="event_report_json"
    ),
    path("triage/", views.triage, name="triage"),
    path("triage/<uuid:external_id>/", views.triage_decide, name="triage_decide"),
    path("portal/report/", views.portal_report, name="portal_report"),
]
