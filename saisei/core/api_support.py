"""Shared API plumbing: authentication, the one error shape, pagination."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth
from pydantic import AfterValidator, WithJsonSchema

from saisei.core import keyset
from saisei.core.errors import DomainError, ValidationFailed
from saisei.core.paging import COUNT_CAP, bounded_count
from saisei.core.services import token_authenticate

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PAGE_SIZE = 200


def offered_language_codes() -> list[str]:
    """The language codes the service offers: settings.LANGUAGES, built from the catalogues."""
    return [code for code, _name in settings.LANGUAGES]


def _offered_language(value: str) -> str:
    codes = offered_language_codes()
    if value not in codes:
        raise ValueError(f"Not an offered language; expected one of: {', '.join(codes)}.")
    return value


# A language field of the API: exactly the languages with catalogues (a translator who adds one
# extends it without code changes; others answer 422). The schema lists them as an enum.
Language = Annotated[
    str,
    AfterValidator(_offered_language),
    WithJsonSchema({"type": "string", "enum": offered_language_codes()}),
]


def _storable_moment(value: dt.datetime) -> dt.datetime:
    """A moment the database can store and compare: inside years 1..9999 also in UTC.

    Pydantic accepts 0001-01-01T00:00+09:00, which is in year 0 in UTC; Django converts to UTC
    before it queries, and that conversion overflows. Naive times are read in the programme's
    zone, as Django reads them.
    """
    aware = (
        value if timezone.is_aware(value) else value.replace(tzinfo=timezone.get_current_timezone())
    )
    try:
        aware.astimezone(dt.UTC).astimezone(aware.tzinfo)
    except OverflowError:
        raise ValueError("The date and time is outside the years 1 to 9999.") from None
    return value


ApiDateTime = Annotated[dt.datetime, AfterValidator(_storable_moment)]
"""Use for every date-time the API takes as input (query or body)."""


def body_too_large_message() -> Any:
    return _("The request body is larger than %(mb)s MB.") % {
        "mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    }


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer <token>`` for integrations; tokens are stored hashed."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class StaffSessionAuth(SessionAuth):
    """The web UI's session; requires the two-factor step when the account uses it.

    Without a signed-in session there is nothing for a forged request to ride on, so the CSRF
    check is skipped and the caller gets the 401 that says what is missing, not a CSRF 403.
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

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
    _install_request_error_handlers(api)
    _install_server_error_handlers(api)


def _install_request_error_handlers(api: NinjaAPI) -> None:
    """Errors the caller's request raises: domain rules, input, authentication, HTTP status."""

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
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # django-ninja's parser wraps the JSON decoder's error (and a body that is not UTF-8).
            return error_response(
                api, request, 400, "malformed_json", str(_("The request body is not valid JSON."))
            )
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


def _install_server_error_handlers(api: NinjaAPI) -> None:
    """Errors raised past the API layer: Django's exceptions, the database, the last resort."""

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

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(api, request, 413, "too_large", str(body_too_large_message()))

    @api.exception_handler(DataError)
    def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        # Last resort: schemas and services validate ranges first; a value the database still
        # refuses (an integer past 64 bits, a date it cannot store) is the caller's input.
        logger.warning("Database refused a value from the request: %s", exc)
        return error_response(
            api, request, 400, "value_out_of_range", str(_("A value is out of the allowed range."))
        )

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


class PageQuery(Schema):
    """Which page of a list: by `offset` (the first COUNT_CAP rows) or after a cursor."""

    limit: int = Field(50, description="Rows per page, 1 to 200.")
    offset: int = Field(
        0, description="Rows to skip; pages past the first 10,000 rows use `after`."
    )
    after: str = Field("", description="The `next` cursor of the previous page.")


class Page(Schema, Generic[T]):
    count: int = Field(description="Rows in the list; a lower bound when `count_exact` is false.")
    count_exact: bool = Field(
        description="False when the list holds more than 10,000 rows: `count` is then 10,000."
    )
    limit: int
    offset: int
    next: str | None = Field(
        description="Cursor for the following page (pass it as `after`); null on the last page."
    )
    items: list[T]


def paginate(
    qs: QuerySet | list, *, limit: int, offset: int = 0, after: str = ""
) -> dict[str, Any]:
    """One page of a list and a cursor to the next; the query count is constant whatever the
    page. A list is counted up to COUNT_CAP rows only (counting 750,000 rows on every page cost
    more than the page), so an `offset` reaches the first COUNT_CAP rows and the cursor every
    row: a cursor page starts on the list's index where the previous page ended (saisei.core.
    keyset), whatever its depth. The limit is clamped to 1..200 and an offset within a list of
    known size to 0..count, so an absurd number answers an empty page, not a database error."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    offset = int(offset)
    if after and offset:
        raise ValidationFailed(
            "page_both",
            _("Give either an offset or a cursor (after), not both."),
            {"offset": [_("Leave the offset out when you follow a cursor.")]},
        )
    if not isinstance(qs, QuerySet):
        return _list_page(qs, limit=limit, offset=offset, after=after)
    keys = keyset.keys_of(qs)
    qs = keyset.ordered(qs, keys)
    counted, exact = bounded_count(qs, cap=COUNT_CAP)
    if offset > COUNT_CAP and not exact:
        raise ValidationFailed(
            "page_too_deep",
            _("Pages past the first %(cap)s rows are reached by following the next cursor.")
            % {"cap": f"{COUNT_CAP:,}"},
            {"offset": [_("At most %(cap)s.") % {"cap": f"{COUNT_CAP:,}"}]},
        )
    offset = max(0, min(offset, counted))
    if after:
        try:
            qs = keyset.after(qs, keys, _cursor(after))
        except keyset.CursorError as exc:
            raise _not_a_cursor() from exc
    rows = list(_page_rows(qs, offset=offset, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "count": counted,
        "count_exact": exact,
        "limit": limit,
        "offset": offset,
        "next": keyset.encode(keyset.values_of(qs, keys, rows[-1].pk)) if more else None,
        "items": rows,
    }


def page_of(qs: QuerySet | list, page: PageQuery) -> dict[str, Any]:
    """`paginate` with the page a list's query parameters asked for."""
    return paginate(qs, limit=page.limit, offset=page.offset, after=page.after)


def _cursor(after: str) -> list[Any]:
    try:
        return keyset.decode(after)
    except keyset.CursorError as exc:
        raise _not_a_cursor() from exc


def _not_a_cursor() -> ValidationFailed:
    return ValidationFailed(
        "page_cursor",
        _("This cursor does not belong to this list; start again from the first page."),
        {"after": [_("Not a cursor this list gave.")]},
    )


def _list_page(rows: list, *, limit: int, offset: int, after: str) -> dict[str, Any]:
    """A list computed in memory: the cursor is the position of the next page."""
    if after:
        position = _cursor(after)
        if len(position) != 1 or type(position[0]) is not int or position[0] < 0:
            raise _not_a_cursor()
        offset = position[0]
    offset = max(0, min(offset, len(rows)))
    more = offset + limit < len(rows)
    counted, exact = bounded_count(rows, cap=COUNT_CAP)
    return {
        "count": counted,
        "count_exact": exact,
        "limit": limit,
        "offset": 0 if after else offset,
        "next": keyset.encode([offset + limit]) if more else None,
        "items": rows[offset : offset + limit],
    }


def _page_rows(qs: QuerySet, *, offset: int, limit: int) -> Any:
    """One page of rows. Past the first page of a queryset, a deferred join in two steps: the
    page's keys first (the database skips the offset on the list's index, keys only, in the
    list's order), then only those rows with what the list joins. A plain OFFSET builds every
    skipped row with its joins, so a last page cost as much as the whole list. The keys are
    fetched apart, not as a LIMIT subquery inside the second query: PostgreSQL may run such a
    subquery once per candidate row (a nested-loop semi join; seen at 300 seeded patients).
    Same rows, same order; one query more than the first page, whatever the offset."""
    if offset == 0:
        return qs[:limit]
    keys = list(qs.values_list("pk", flat=True)[offset : offset + limit])
    return qs.filter(pk__in=keys) if keys else qs.none()


ERROR_RESPONSES: dict[int | frozenset[int], Any] = {
    frozenset({400, 401, 403, 404, 409, 413, 415, 422}): ErrorOut,
}
