from django.urls import path

from saisei.core import records_views, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/2fa/", views.two_factor_verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("audit/", views.audit_page, name="audit"),
    path("access-log/", views.access_log_page, name="access_log"),
    path("notifications/", views.notifications_page, name="notifications"),
    path("records/", records_views.records_page, name="records"),
    path("records/dispose/", records_views.record_dispose_page, name="record_dispose"),
    path("records/archives/", records_views.archive_start_page, name="archive_start"),
    path(
        "records/archives/<uuid:external_id>/",
        records_views.archive_download,
        name="archive_download",
    ),
]
