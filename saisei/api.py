"""The HTTP API under /api/v1/: one NinjaAPI, one router per domain app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ninja import NinjaAPI

from saisei.core.api_support import BearerTokenAuth, StaffSessionAuth, install_error_handlers
from saisei.core.hardening import staff_only_docs

if TYPE_CHECKING:
    from ninja.operation import Operation


class SaiseiAPI(NinjaAPI):
    """The operation id names the app's API, not the module inside it.

    An app's API may be a package with one module per aggregate (``saisei.processing.api.lot``);
    its operations keep the ids of the app (``saisei_processing_api_lot_create``), so splitting a
    module never changes the published schema.
    """

    def get_openapi_operation_id(self, operation: Operation) -> str:
        module = operation.view_func.__module__
        if ".api." in module:
            module = module.split(".api.", 1)[0] + ".api"
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")


api = SaiseiAPI(
    title="Saisei API",
    version="1",
    description=(
        "Saisei runs a regenerative-medicine programme under Japan's ASRM. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `saisei token create USERNAME`) or the "
        'web session. Every error has the shape {"error": {"code", "message", "fields"}}.'
    ),
    auth=[BearerTokenAuth(), StaffSessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    # The docs and the schema ask for the Saisei sign-in in production (SAISEI_STAFF_ONLY_DOCS).
    docs_decorator=staff_only_docs,
)
install_error_handlers(api)


def _mount() -> None:
    from saisei.core.api import router as core_router
    from saisei.interop.api import router as interop_router
    from saisei.journey.api import router as journey_router
    from saisei.network.api import router as network_router
    from saisei.outcomes.api import router as outcomes_router
    from saisei.processing.api import router as processing_router
    from saisei.regulatory.api import router as regulatory_router
    from saisei.safety.api import router as safety_router
    from saisei.treatment.api import router as treatment_router

    api.add_router("/", core_router)
    api.add_router("/", regulatory_router)
    api.add_router("/", processing_router)
    api.add_router("/", journey_router)
    api.add_router("/", network_router)
    api.add_router("/", treatment_router)
    api.add_router("/", safety_router)
    api.add_router("/", outcomes_router)
    api.add_router("/", interop_router)


_mount()
