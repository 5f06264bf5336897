"""Writes for core: users, roles, tokens, two-factor, login throttling, notifications, e-signatures."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import (
    ApiToken,
    LoginFailure,
    Notification,
    Organisation,
    Role,
    RoleGrant,
    Site,
    User,
)

TOKEN_PREFIX = "ssk_"


def organisation_create(
    *, actor: User | None, name: str, slug: str, kind: str, name_ja: str = ""
) -> Organisation:
    with transaction.atomic():
        org = Organisation.objects.create(name=name, slug=slug, kind=kind, name_ja=name_ja)
        audit_record(
            actor=actor,
            organisation=org,
            action="organisation.create",
            subject=org,
            changes={"name": name, "kind": kind},
        )
    return org


def site_create(
    *,
    actor: User | None,
    organisation: Organisation,
    name: str,
    kind: str,
    address: str = "",
    name_ja: str = "",
) -> Site:
    with transaction.atomic():
        site = Site.objects.create(
            organisation=organisation, name=name, kind=kind, address=address, name_ja=name_ja
        )
        audit_record(
            actor=actor,
            organisation=organisation,
            action="site.create",
            subject=site,
            changes={"name": name, "kind": kind},
        )
    return site


def user_create(
    *,
    actor: User | None,
    organisation: Organisation,
    username: str,
    password: str,
    roles: list[str],
    display_name: str = "",
    email: str = "",
    validate: bool = True,
) -> User:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationFailed("unknown_role", _("Unknown role."), {"roles": unknown})
    if actor is not None and (
        actor.organisation_id != organisation.pk or not actor.has_role(Role.ORG_ADMIN)
    ):
        raise Forbidden()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(
            "username_taken",
            _("That username is taken."),
            {"username": [_("That username is taken.")]},
        )
    user = User(
        username=username, organisation=organisation, display_name=display_name, email=email
    )
    if validate:
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationFailed(
                "weak_password",
                _("The password does not meet the policy."),
                {"password": list(exc.messages)},
            ) from exc
    user.set_password(password)
    with transaction.atomic():
        user.save()
        RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in sorted(set(roles))])
        audit_record(
            actor=actor,
            organisation=organisation,
            action="user.create",
            subject=user,
            changes={"username": username, "roles": sorted(set(roles))},
        )
    return user


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, actor: User | None, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a bearer token and return it with its raw value (shown once, stored hashed)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, label=label, prefix=raw[:12], key_hash=_hash_token(raw)
        )
        if user.organisation:
            audit_record(
                actor=actor,
                organisation=user.organisation,
                action="api_token.create",
                subject=token,
                changes={"user": user.username, "label": label},
            )
    return token, raw


def token_revoke(*, actor: User | None, token: ApiToken, reason: str = "revoked") -> ApiToken:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        if token.user.organisation:
            audit_record(
                actor=actor,
                organisation=token.user.organisation,
                action="api_token.revoke",
                subject=token,
                reason=reason or "revoked",
            )
    return token


@dataclass(frozen=True)
class _RowShape:
    """How to turn a slice of a raw row into a model instance (names and the backend's
    converters for each column, e.g. SQLite's datetimes and booleans that arrive as text)."""

    model: type[Any]
    attnames: list[str]
    converters: list[tuple[Any, list[Any]]]

    def build(self, values: tuple[Any, ...] | list[Any]) -> Any:
        out = []
        for (expr, converters), raw in zip(self.converters, values, strict=True):
            value = raw
            for convert in converters:
                value = convert(value, expr, connection)
            out.append(value)
        return self.model.from_db(connection.alias, self.attnames, out)


def _row_shape(model: type[Any]) -> _RowShape:
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        col = field.get_col(model._meta.db_table)
        converters.append(
            (col, [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)])
        )
    return _RowShape(model, [f.attname for f in fields], converters)


@functools.cache
def _token_lookup(vendor: str) -> tuple[str, _RowShape, _RowShape, _RowShape]:
    """One SELECT for a bearer token: the token, its user, the user's organisation and roles.

    Built once per process (and database vendor) from the models' metadata, so the columns follow
    the models. The roles come as one row per grant (LEFT JOIN: a user without roles still has one
    row), so an authenticated request costs one round trip and no ORM compilation
    (bench/profile_hot.py: compiling the two ORM queries was most of a light request's time).
    """

    def q(name: str | None) -> str:
        return str(connection.ops.quote_name(str(name)))

    tok, usr, org, grant = ApiToken._meta, User._meta, Organisation._meta, RoleGrant._meta
    cols = (
        [f"t.{q(f.column)}" for f in tok.concrete_fields]
        + [f"u.{q(f.column)}" for f in usr.concrete_fields]
        + [f"o.{q(f.column)}" for f in org.concrete_fields]
        + [f"g.{q(grant.get_field('role').column)}"]
    )
    # Only quoted table and column names from the models are formatted in; the token hash is a
    # bound parameter.
    sql = (
        f"SELECT {', '.join(cols)} FROM {q(tok.db_table)} t "  # noqa: S608
        f"JOIN {q(usr.db_table)} u ON u.{q(usr.pk.column)} = t.{q(tok.get_field('user').column)} "
        f"LEFT JOIN {q(org.db_table)} o "
        f"ON o.{q(org.pk.column)} = u.{q(usr.get_field('organisation').column)} "
        f"LEFT JOIN {q(grant.db_table)} g "
        f"ON g.{q(grant.get_field('user').column)} = u.{q(usr.pk.column)} "
        f"WHERE t.{q(tok.get_field('key_hash').column)} = %s "
        f"AND t.{q(tok.get_field('revoked_at').column)} IS NULL"
    )
    return sql, _row_shape(ApiToken), _row_shape(User), _row_shape(Organisation)


def token_authenticate(raw: str) -> User | None:
    """The active user a bearer token belongs to, with organisation and roles loaded (one query).

    None for an unknown, revoked or malformed token, or an inactive user (fail closed).
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    sql, tok_shape, user_shape, org_shape = _token_lookup(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [_hash_token(raw)])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    n_tok, n_usr = len(tok_shape.attnames), len(user_shape.attnames)
    token: ApiToken = tok_shape.build(first[:n_tok])
    user: User = user_shape.build(first[n_tok : n_tok + n_usr])
    if not user.is_active:
        return None
    user._state.fields_cache["organisation"] = (
        org_shape.build(first[n_tok + n_usr : -1]) if user.organisation_id is not None else None
    )
    user._roles_cache = frozenset(row[-1] for row in rows if row[-1] is not None)
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


# --- login throttling --------------------------------------------------------------------


def login_is_throttled(*, username: str, client_ip: str | None) -> bool:
    """Locked when one account failed too often from this address, or far too often from any.

    The key is account plus address: one person guessing from one place locks only that pair, so
    the staff behind a clinic's shared proxy or NAT keep signing in. An account attacked from many
    addresses at once is locked for everyone only past a higher bound
    (``SAISEI_LOGIN_ACCOUNT_MAX_FAILURES``, four times the per-address limit by default).
    """
    window_start = timezone.now() - dt.timedelta(minutes=settings.SAISEI_LOGIN_LOCKOUT_MINUTES)
    recent = LoginFailure.objects.filter(at__gte=window_start, username=username.lower())
    if recent.filter(client_ip=client_ip).count() >= settings.SAISEI_LOGIN_MAX_FAILURES:
        return True
    return recent.count() >= settings.SAISEI_LOGIN_ACCOUNT_MAX_FAILURES


def login_failure_record(*, username: str, client_ip: str | None) -> None:
    LoginFailure.objects.create(username=username.lower(), client_ip=client_ip)


def login_success_record(*, user: User) -> None:
    LoginFailure.objects.filter(username=user.username.lower()).delete()
    if user.organisation:
        audit_record(actor=user, organisation=user.organisation, action="user.login", subject=user)


# --- two-factor (TOTP, RFC 6238) ---------------------------------------------------------


def totp_begin(*, user: User) -> str:
    """Start (or restart) enrolment: a new secret, unconfirmed until a code proves it."""
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = None
    user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    return user.totp_secret


def totp_provisioning_uri(*, user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="Saisei")


# One step either side of now absorbs clock drift between phone and server (RFC 6238 §5.2).
TOTP_VALID_WINDOW = 1


def totp_matching_step(*, user: User, code: str, at: dt.datetime | None = None) -> int | None:
    """The RFC 6238 time step (T) whose code is ``code``, looked for within the valid window."""
    if not user.totp_secret:
        return None
    code = (code or "").strip().replace(" ", "")
    totp = pyotp.TOTP(user.totp_secret)
    if not (code.isdigit() and len(code) == totp.digits):
        return None
    now_step = totp.timecode(at or timezone.now())
    for step in range(now_step - TOTP_VALID_WINDOW, now_step + TOTP_VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def totp_consume(*, user: User, code: str) -> bool:
    """Accept a current code once: its time step must be later than the last step accepted.

    RFC 6238 §5.2 says a verifier must not accept the same code twice. The check and the write
    are one conditional UPDATE, so two requests racing with one code cannot both win, on SQLite
    or PostgreSQL. Call it before the act's own transaction, so a refused act still spends the code.
    """
    step = totp_matching_step(user=user, code=code)
    if step is None:
        return False
    claimed = (
        User.objects.filter(pk=user.pk)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )
    if claimed:
        user.totp_last_step = step
    return claimed == 1


def totp_confirm(*, user: User, code: str) -> User:
    if not totp_consume(user=user, code=code):
        raise ValidationFailed(
            "invalid_code",
            _("That code is not valid. Check the time on your phone and try again."),
            {"code": [_("That code is not valid.")]},
        )
    with transaction.atomic():
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_confirmed_at"])
        if user.organisation:
            audit_record(
                actor=user, organisation=user.organisation, action="user.2fa_enable", subject=user
            )
    return user


# --- electronic signature ----------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """Evidence of an electronic signature: who, when, and the meaning they stated."""

    user_id: int
    username: str
    meaning: str
    signed_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.username,
            "meaning": self.meaning,
            "signed_at": self.signed_at.isoformat(),
        }


SIGNATURE_NOT_ENROLLED = gettext_lazy(
    "Your role signs with two factors and you have not set up your authenticator app. "
    "Set up two-factor authentication before signing."
)
SIGNATURE_OTP_REFUSAL = gettext_lazy(
    "The authentication code is missing, wrong or already used. "
    "Enter the current code from your authenticator app."
)


def signature_verify(
    *, actor: User, password: str, meaning: str, otp: str | None = None
) -> Signature:
    """Re-authenticate the signer with every factor they are enrolled in; capture the meaning.

    Modelled on 21 CFR Part 11 §11.200 and the PIC/S GMP Annex 11 e-signature expectations that
    Japanese GMP/GCTP inspections follow: a signature is tied to one person, re-authenticated at
    signing, and states what it means. Call it before the act's transaction (see totp_consume).
    """
    if not meaning or not meaning.strip():
        raise ValidationFailed(
            "signature_meaning_required",
            _("State the meaning of your signature."),
            {"meaning": [_("State the meaning of your signature.")]},
        )
    if not password or not actor.check_password(password):
        raise ValidationFailed(
            "signature_password_invalid",
            _("The password is not correct."),
            {"password": [_("The password is not correct.")]},
        )
    # A role that must sign with two factors (QA, administrators) cannot sign on the password
    # alone because its holder has not enrolled yet: the signature would lack a required factor.
    if actor.two_factor_required and not actor.two_factor_enabled:
        raise ValidationFailed(
            "signature_two_factor_not_enrolled",
            SIGNATURE_NOT_ENROLLED,
            {"otp": [SIGNATURE_NOT_ENROLLED]},
        )
    # Every factor the signer is enrolled in, whatever the channel: a missing code is refused
    # exactly like a wrong or a reused one (same code, message and field).
    if actor.two_factor_enabled and not totp_consume(user=actor, code=otp or ""):
        raise ValidationFailed(
            "signature_otp_invalid", SIGNATURE_OTP_REFUSAL, {"otp": [SIGNATURE_OTP_REFUSAL]}
        )
    return Signature(
        user_id=actor.pk, username=actor.username, meaning=meaning.strip(), signed_at=timezone.now()
    )


# --- notifications -----------------------------------------------------------------------


def notify(
    *,
    users: list[User] | Any,
    subject: str,
    body: str = "",
    link: str = "",
    level: str = "info",
    dedupe_key: str = "",
    email: bool = True,
) -> list[Notification]:
    """Create an in-app notification for each user (once per dedupe key) and queue an e-mail."""
    created = []
    for user in users:
        if user.organisation_id is None:
            continue
        if dedupe_key and Notification.objects.filter(user=user, dedupe_key=dedupe_key).exists():
            continue
        created.append(
            Notification.objects.create(
                organisation_id=user.organisation_id,
                user=user,
                subject=str(subject)[:300],
                body=str(body),
                link=link,
                level=level,
                dedupe_key=dedupe_key,
            )
        )
    if email and created:
        from saisei.core.tasks import send_notification_email

        ids = [n.pk for n in created]
        transaction.on_commit(lambda: send_notification_email.enqueue(notification_ids=ids))
    return created


def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    if notification.user_id != actor.pk:
        raise Forbidden()
    notification.read_at = timezone.now()
    notification.save(update_fields=["read_at"])
    return notification
