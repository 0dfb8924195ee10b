"""One error shape for every refusal: ``{"errors": {field: [messages]}}`` with the right status code.

Services raise :class:`DeskError` (400, 403, 404, 409); ninja raises its own errors for malformed JSON and
wrong field types (422 here, naming the field); the rule engine raises :class:`RuleError` with a field path.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from casework.desk.errors import DeskError
from casework.desk.routing.engine import RuleError

# Location prefixes ninja puts before the field name: ("body", "payload", "subject") -> "subject".
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def field_of(loc: list[Any] | tuple[Any, ...], param_names: set[str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    # Body schemas are passed as one parameter (``payload``): its name is noise to the client.
    if len(parts) > 1 and parts[0] in param_names:
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def validation_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for err in errors:
        field = field_of(err.get("loc", ()), {"payload", "filters"})
        out.setdefault(field, []).append(str(err.get("msg", "invalid")))
    return out


def install(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, errors: dict[str, list[str]], status: int) -> HttpResponse:
        return api.create_response(request, {"errors": errors}, status=status)

    @api.exception_handler(DeskError)
    def desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
        return respond(request, exc.errors, exc.status)

    @api.exception_handler(RuleError)
    def rule_error(request: HttpRequest, exc: RuleError) -> HttpResponse:
        return respond(request, {exc.field: [exc.message]}, 400)

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return respond(request, validation_errors(exc.errors), 422)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, {"__all__": [_("Authentication required: send 'Authorization: Bearer TOKEN'.")]}, 401)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # Malformed JSON arrives here as a 400 from ninja; it is a request-body problem, so 422 on "body".
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            return respond(request, {"body": [_("The request body is not valid JSON.")]}, 422)
        return respond(request, {"__all__": [str(exc)]}, exc.status_code)
