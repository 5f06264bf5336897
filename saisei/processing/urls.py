from django.urls import path

from saisei.processing.views import deviations, donations, donors, doses, environment, lots

app_name = "processing"

urlpatterns = [
    path("", lots.board, name="board"),
    path("donors/", donors.donor_list, name="donors"),
    path("donors/<str:external_id>/", donors.donor_detail, name="donor_detail"),
    path("donations/new/", donations.donation_new, name="donation_new"),
    path("donations/<str:external_id>/", donations.donation_detail, name="donation_detail"),
    path(
        "donations/<str:external_id>/markers/", donations.donation_markers, name="donation_markers"
    ),
    path("donations/<str:external_id>/labels/", donations.donation_labels, name="donation_labels"),
    path(
        "donations/<str:external_id>/lot/", donations.donation_start_lot, name="donation_start_lot"
    ),
    path(
        "donations/<str:external_id>/course/",
        donations.donation_bind_course,
        name="donation_bind_course",
    ),
    path(
        "donations/<str:external_id>/handover/",
        donations.donation_handover,
        name="donation_handover",
    ),
    path("lots/", lots.lot_list, name="lots"),
    path("lots/<str:external_id>/", lots.lot_detail, name="lot_detail"),
    path("lots/<str:external_id>/batch-record.pdf", lots.lot_batch_record_pdf, name="lot_pdf"),
    path("lots/<str:external_id>/steps/", lots.lot_step, name="lot_step"),
    path("lots/<str:external_id>/qc/", lots.lot_qc, name="lot_qc"),
    path("lots/<str:external_id>/submit-qc/", lots.lot_submit_qc, name="lot_submit_qc"),
    path("lots/<str:external_id>/release/", lots.lot_release, name="lot_release"),
    path("lots/<str:external_id>/quarantine/", lots.lot_quarantine, name="lot_quarantine"),
    path(
        "lots/<str:external_id>/lift-quarantine/",
        lots.lot_lift_quarantine,
        name="lot_lift_quarantine",
    ),
    path("lots/<str:external_id>/reject/", lots.lot_reject, name="lot_reject"),
    path("doses/", doses.dose_list, name="doses"),
    path("doses/find/", doses.dose_find, name="dose_find"),
    path("doses/<str:external_id>/", doses.dose_detail, name="dose_detail"),
    path("doses/<str:external_id>/custody.pdf", doses.dose_custody_pdf, name="dose_custody_pdf"),
    path("doses/<str:external_id>/thaw/", doses.dose_thaw, name="dose_thaw"),
    path("doses/<str:external_id>/store/", doses.dose_store, name="dose_store"),
    path("doses/<str:external_id>/labels/", doses.dose_labels, name="dose_labels"),
    path("doses/<str:external_id>/handover/", doses.handover, name="handover"),
    path("doses/<str:external_id>/discard/", doses.dose_discard, name="dose_discard"),
    path(
        "doses/<str:external_id>/report-unusable/",
        doses.dose_report_unusable,
        name="dose_report_unusable",
    ),
    path("doses/<str:external_id>/lift-hold/", doses.dose_lift_hold, name="dose_lift_hold"),
    path("labels/<str:external_id>/reconcile/", doses.label_reconcile, name="label_reconcile"),
    path(
        "culture-alerts/<str:external_id>/follow-up/",
        deviations.culture_alert_follow_up,
        name="culture_alert_follow_up",
    ),
    path("environment/", environment.environment, name="environment"),
    path("environment/programmes/", environment.programmes, name="programmes"),
    path(
        "environment/programmes/<str:external_id>/",
        environment.programme_detail,
        name="programme_detail",
    ),
    path("deviations/", deviations.deviation_list, name="deviations"),
    path("deviations/<str:external_id>/", deviations.deviation_detail, name="deviation_detail"),
    path("near-misses/", deviations.near_miss_list, name="near_misses"),
]
