from django.conf import settings
from django.conf.urls.i18n import i18n_patterns  # noqa: F401
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from saisei.api import api
from saisei.core.hardening import admin_login
from saisei.core.middleware import json_error
from saisei.interop.urls import fhir_urlpatterns


def api_not_found(request, *args, **kwargs):
    return json_error(404, "not_found", "No such API endpoint.")


urlpatterns = [
    path("", include("saisei.core.urls")),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("fhir/R4/", include((fhir_urlpatterns, "fhir"))),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the admin's own URLs: its sign-in goes through Saisei's in production.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("regulatory/", include("saisei.regulatory.urls")),
    path("processing/", include("saisei.processing.urls")),
    path("journey/", include("saisei.journey.urls")),
    path("network/", include("saisei.network.urls")),
    path("treatment/", include("saisei.treatment.urls")),
    path("safety/", include("saisei.safety.urls")),
    path("outcomes/", include("saisei.outcomes.urls")),
    path("interop/", include("saisei.interop.urls")),
]

if settings.SAISEI_BENCH_BARE_VIEW:
    # The floor the hot endpoints are compared with in bench/run.py: same middleware and server.
    def bench_bare(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    def bench_bare_write(request: HttpRequest) -> JsonResponse:
        """The floor of an audited write: one ledger entry appended under the organisation's
        chain-head lock and committed (bedside verify is compared with it too)."""
        from django.db import transaction

        from saisei.core.audit import audit_record
        from saisei.core.models import Organisation

        with transaction.atomic():
            organisation = Organisation.objects.order_by("pk").first()
            audit_record(
                actor=None, organisation=organisation, action="bench.floor", subject=("bench", "1")
            )
        return JsonResponse({"ok": True})

    urlpatterns.insert(0, path("bench/bare", bench_bare))
    urlpatterns.insert(0, path("bench/bare-write", bench_bare_write))

if not settings.PRODUCTION:
    # Demo and development: serve static files (Saisei's and its apps', e.g. the API docs'
    # Swagger UI) from where they are installed, without collectstatic or a web server.
    urlpatterns += [
        re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
    ]
