"""The REST API under /api/v1/: schema at /api/v1/openapi.json, interactive docs at /api/v1/docs.

Authentication is a bearer token (``casework desk token USERNAME``) or the desk's session cookie; both end in
``access.permissions``, the same checks the pages make.
"""

from __future__ import annotations

import importlib.util

from ninja import NinjaAPI

from casework.desk.api import errors
from casework.desk.api.attachments import router as attachments_router
from casework.desk.api.auth import API_AUTH
from casework.desk.api.library import router as library_router
from casework.desk.api.render import ORJSONRenderer
from casework.desk.api.rules import router as rules_router
from casework.desk.api.tickets import router as tickets_router

api = NinjaAPI(
    title="casework desk API",
    version="1",
    description="Tickets, dispatch rules and (when installed) SLA state and ratings of the casework desk.",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=API_AUTH,
    renderer=ORJSONRenderer(),
)
errors.install(api)
api.add_router("/", tickets_router)
api.add_router("/", rules_router)
api.add_router("/", attachments_router)
api.add_router("/", library_router)

# The SLA and ratings endpoints (/tickets/{ref}/sla, /tickets/{ref}/rating) live in their own ninja Router in
# casework.desk.sla.api. We look for the module first but then import it for real: a module that exists and
# fails to import must fail loudly, not make the endpoints silently disappear.
if importlib.util.find_spec("casework.desk.sla.api") is not None:
    from casework.desk.sla.api import router as sla_router

    api.add_router("/", sla_router)
