from typing import Any

from django.apps import AppConfig
from django.core import checks


def ledger_key_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """In production, refuse to start without a usable ledger key (the ledger fails closed)."""
    from django.conf import settings

    from saisei.core.ledger_key import ledger_key_problem

    if not settings.PRODUCTION:
        return []
    problem = ledger_key_problem()
    return [checks.Error(problem, id="saisei.E001")] if problem else []


class CoreConfig(AppConfig):
    name = "saisei.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(ledger_key_check)
