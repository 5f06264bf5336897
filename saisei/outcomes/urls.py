from django.urls import path

from saisei.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.index, name="index"),
    path("patients/<uuid:external_id>/", views.patient_page, name="patient"),
    path(
        "patients/<uuid:external_id>/trajectory/<str:measure>.png",
        views.trajectory_image,
        name="trajectory_png",
    ),
    path("patients/<uuid:external_id>/assess/", views.assessment_new, name="assessment_new"),
    path("patients/<uuid:external_id>/biomarker/", views.biomarker_new, name="biomarker_new"),
    path("patients/<uuid:external_id>/report.pdf", views.family_report, name="family_report"),
    path("assessments/<uuid:external_id>/void/", views.assessment_void, name="assessment_void"),
    path("visits/<uuid:external_id>/missed/", views.visit_missed, name="visit_missed"),
    path("courses/<uuid:external_id>/schedule/", views.schedule_create, name="schedule_create"),
    path("schedules/<uuid:external_id>/end/", views.schedule_end, name="schedule_end"),
    path("schedules/<uuid:external_id>/stage/", views.schedule_stage, name="schedule_stage"),
    path("cohorts/", views.cohort_index, name="cohort_index"),
    path("cohorts/<uuid:external_id>/", views.cohort_page, name="cohort"),
    path("cohorts/<uuid:external_id>/plot.png", views.cohort_image, name="cohort_png"),
    path("cohorts/<uuid:external_id>/export.csv", views.cohort_csv, name="cohort_csv"),
    path("cohorts/<uuid:external_id>/report.pdf", views.clinic_report, name="clinic_report"),
    path("references/", views.references_page, name="references"),
    path("references/<uuid:external_id>/", views.reference_edit, name="reference_edit"),
    path("credentials/", views.credentials_page, name="credentials"),
    path("portal/diary/", views.portal_diary, name="portal_diary"),
]
