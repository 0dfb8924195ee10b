"""The REST API under /api/v1/ (filled in by the API work)."""

from ninja import NinjaAPI

api = NinjaAPI(title="casework desk API", version="1", urls_namespace="api", openapi_url="/openapi.json")
