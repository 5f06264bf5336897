"""processing API: scan parsing, expansion forecast, lots, doses, release, custody, labels, deviations.

Paths carry their own prefix (the router is mounted at /api/v1/). Input and output schemas are
separate per operation; refusals are DomainErrors mapped to the one error shape by core. One
module per aggregate; their routers are added here in the order the schema lists them.
"""

from ninja import Router

from . import (
    culture,
    custody,
    deviation,
    donation,
    donor,
    dose,
    environment,
    forecast,
    lot,
    near_miss,
    scan,
)

router = Router(tags=["processing"])
for _module in (
    scan,
    forecast,
    donation,
    donor,
    lot,
    dose,
    custody,
    deviation,
    environment,
    near_miss,
    culture,
):
    router.add_router("", _module.router)
