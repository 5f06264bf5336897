from django.urls import path

from . import views

app_name = "network"

urlpatterns = [
    # The facilitator.
    path("", views.pipeline, name="pipeline"),
    path("commissions.csv", views.commissions_csv, name="commissions_csv"),
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("inquiries/<uuid:inquiry_id>/refer/", views.referral_open, name="referral_open"),
    path("referrals/<uuid:external_id>/", views.referral_detail, name="referral_detail"),
    path(
        "referrals/<uuid:external_id>/share/<uuid:consent_id>/",
        views.share_create,
        name="share_create",
    ),
    path("shares/<uuid:share_id>/revoke/", views.share_revoke, name="share_revoke"),
    # The partner clinic.
    path("received/", views.received_list, name="received_list"),
    path("received/<uuid:external_id>/", views.received_detail, name="received_detail"),
    path(
        "received/<uuid:external_id>/files/<uuid:file_id>/",
        views.received_file,
        name="received_file",
    ),
    # The family, in the portal.
    path("portal/", views.portal_referral, name="portal_referral"),
    path(
        "portal/consents/<uuid:consent_id>/withdraw/",
        views.portal_consent_withdraw,
        name="portal_consent_withdraw",
    ),
    path("portal/compare/", views.portal_compare, name="portal_compare"),
    # Another Saisei installation (decision 0030).
    path("peer/<slug:org_slug>/inbox/", views.peer_inbox, name="peer_inbox"),
]
