from django.urls import path

from saisei.processing import donor_views, views

app_name = "processing"

urlpatterns = [
    path("", views.board, name="board"),
    path("donors/", donor_views.donor_list, name="donors"),
    path("donors/<str:external_id>/", donor_views.donor_detail, name="donor_detail"),
    path("donations/new/", views.donation_new, name="donation_new"),
    path("donations/<str:external_id>/", views.donation_detail, name="donation_detail"),
    path("donations/<str:external_id>/markers/", views.donation_markers, name="donation_markers"),
    path("donations/<str:external_id>/labels/", views.donation_labels, name="donation_labels"),
    path("donations/<str:external_id>/lot/", views.donation_start_lot, name="donation_start_lot"),
    path(
        "donations/<str:external_id>/course/",
        views.donation_bind_course,
        name="donation_bind_course",
    ),
    path(
        "donations/<str:external_id>/handover/", views.donation_handover, name="donation_handover"
    ),
    path("lots/<str:external_id>/", views.lot_detail, name="lot_detail"),
    path("lots/<str:external_id>/batch-record.pdf", views.lot_batch_record_pdf, name="lot_pdf"),
    path("lots/<str:external_id>/steps/", views.lot_step, name="lot_step"),
    path("lots/<str:external_id>/qc/", views.lot_qc, name="lot_qc"),
    path("lots/<str:external_id>/submit-qc/", views.lot_submit_qc, name="lot_submit_qc"),
    path("lots/<str:external_id>/release/", views.lot_release, name="lot_release"),
    path("lots/<str:external_id>/quarantine/", views.lot_quarantine, name="lot_quarantine"),
    path(
        "lots/<str:external_id>/lift-quarantine/",
        views.lot_lift_quarantine,
        name="lot_lift_quarantine",
    ),
    path("lots/<str:external_id>/reject/", views.lot_reject, name="lot_reject"),
    path("doses/", views.dose_list, name="doses"),
    path("doses/find/", views.dose_find, name="dose_find"),
    path("doses/<str:external_id>/", views.dose_detail, name="dose_detail"),
    path("doses/<str:external_id>/custody.pdf", views.dose_custody_pdf, name="dose_custody_pdf"),
    path("doses/<str:external_id>/thaw/", views.dose_thaw, name="dose_thaw"),
    path("doses/<str:external_id>/store/", views.dose_store, name="dose_store"),
    path("doses/<str:external_id>/labels/", views.dose_labels, name="dose_labels"),
    path("doses/<str:external_id>/handover/", views.handover, name="handover"),
    path("doses/<str:external_id>/discard/", views.dose_discard, name="dose_discard"),
    path(
        "doses/<str:external_id>/report-unusable/",
        views.dose_report_unusable,
        name="dose_report_unusable",
    ),
    path("doses/<str:external_id>/lift-hold/", views.dose_lift_hold, name="dose_lift_hold"),
    path("labels/<str:external_id>/reconcile/", views.label_reconcile, name="label_reconcile"),
    path(
        "culture-alerts/<str:external_id>/follow-up/",
        views.culture_alert_follow_up,
        name="culture_alert_follow_up",
    ),
    path("environment/", views.environment, name="environment"),
    path("environment/programmes/", views.programmes, name="programmes"),
    path(
        "environment/programmes/<str:external_id>/",
        views.programme_detail,
        name="programme_detail",
    ),
    path("deviations/", views.deviation_list, name="deviations"),
    path("deviations/<str:external_id>/", views.deviation_detail, name="deviation_detail"),
    path("near-misses/", views.near_miss_list, name="near_misses"),
]
