"""Domain errors with stable codes, mapped by the API and views to one error shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal by a service: a stable machine code, a translatable message and field errors."""

    status_code = 400

    def __init__(self, code: str, message: Any, fields: dict[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.fields = fields or {}

    def form_errors(self) -> list[tuple[str | None, str]]:
        """How a web form shows the refusal: (field or None for the top of the form, message)."""
        out: list[tuple[str | None, str]] = []
        for field, msgs in self.fields.items():
            for msg in msgs if isinstance(msgs, list | tuple) else [msgs]:
                out.append((field, str(msg)))
        return out or [(None, str(self.message))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": str(self.message),
                "fields": {
                    k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
                    for k, v in self.fields.items()
                },
            }
        }


class ValidationFailed(DomainError):
    """Input is well-formed but breaks a rule (422)."""

    status_code = 422


class Conflict(DomainError):
    """The request conflicts with the current state, e.g. a dose already administered (409)."""

    status_code = 409


class Throttled(DomainError):
    """Too many requests of this kind from this caller or in total; try again later (429)."""

    status_code = 429


class NotFound(DomainError):
    """The object does not exist or is outside the actor's scope; both look the same (404)."""

    status_code = 404

    def __init__(self, message: Any = "Not found.", code: str = "not_found") -> None:
        super().__init__(code, message)


class Forbidden(DomainError):
    """The actor may see the object but not perform this action (403)."""

    status_code = 403

    def __init__(
        self, message: Any = "You do not have permission to do this.", code: str = "forbidden"
    ) -> None:
        super().__init__(code, message)
