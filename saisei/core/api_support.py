"""Shared API plumbing: authentication, the one error shape, pagination."""

from __future__ import annotations

import logging
from typing import Any, Generic, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from saisei.core.errors import DomainError
from saisei.core.services import token_authenticate

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` for integrations; tokens are stored hashed."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class StaffSessionAuth(SessionAuth):
    """The web UI's session; requires the two-factor step when the account uses it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            return None
        if (user.two_factor_enabled or user.two_factor_required) and not request.session.get(
            "2fa_ok"
        ):
            return None
        return user


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )


def _loc_to_field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "form")]
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    """Map every failure to ``{"error": {"code", "message", "fields"}}`` (house style)."""

    @api.exception_handler(DomainError)
    def _domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status_code)

    @api.exception_handler(NinjaValidationError)
    def _validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        malformed = False
        for err in exc.errors:
            if err.get("type") == "json_invalid" or (
                "JSON" in str(err.get("msg", "")) and "parse" in str(err.get("msg", "")).lower()
            ):
                malformed = True
            fields.setdefault(_loc_to_field(err.get("loc", ())), []).append(
                str(err.get("msg", "invalid"))
            )
        if malformed:
            return error_response(
                api, request, 400, "malformed_json", "The request body is not valid JSON.", fields
            )
        return error_response(
            api, request, 422, "invalid_input", "Some fields are missing or invalid.", fields
        )

    @api.exception_handler(AuthenticationError)
    def _unauth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            api,
            request,
            401,
            "not_authenticated",
            "Authentication is required (session or Bearer token).",
        )

    @api.exception_handler(HttpError)
    def _http(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = {
            400: "bad_request",
            401: "not_authenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "too_large",
            422: "invalid_input",
            429: "throttled",
        }.get(exc.status_code, "error")
        return error_response(api, request, exc.status_code, code, str(exc.message))

    @api.exception_handler(Http404)
    def _404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", "Not found.")

    @api.exception_handler(PermissionDenied)
    def _403(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(
            api, request, 403, "forbidden", "You do not have permission to do this."
        )

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        fields = {k: [str(m) for m in v] for k, v in getattr(exc, "message_dict", {}).items()}
        return error_response(api, request, 422, "invalid_input", "; ".join(exc.messages), fields)

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled API error")
        return error_response(
            api,
            request,
            500,
            "server_error",
            "Something went wrong on our side; the error was logged.",
        )


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorOut(Schema):
    error: ErrorBody


class Page(Schema, Generic[T]):
    count: int
    limit: int
    offset: int
    items: list[T]


def paginate(qs: QuerySet | list, *, limit: int, offset: int) -> dict[str, Any]:
    """Limit/offset page; the query count is constant whatever the page size."""
    limit = max(1, min(int(limit), 200))
    offset = max(0, int(offset))
    count = qs.count() if isinstance(qs, QuerySet) else len(qs)
    return {
        "count": count,
        "limit": limit,
        "offset": offset,
        "items": list(qs[offset : offset + limit]),
    }


ERROR_RESPONSES: dict[int | frozenset[int], Any] = {
    frozenset({400, 401, 403, 404, 409, 422}): ErrorOut,
}
