"""The served OpenAPI document is a valid OpenAPI 3 document describing every endpoint and both auth schemes."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

PATHS = {
    "/api/v1/tickets": {"get", "post"},
    "/api/v1/tickets/{ref}": {"get"},
    **{f"/api/v1/tickets/{{ref}}/{a}": {"post"}
       for a in ("reply", "note", "claim", "escalate", "return", "reassign", "resolve", "status")},
    "/api/v1/rules": {"get"},
    "/api/v1/rules/simulate": {"post"},
    "/api/v1/rules/{version}/publish": {"post"},
}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")  # public: no credentials needed to read the schema
    assert response.status_code == 200
    return response.json()


def test_openapi_document_validates(spec):
    validate(spec)  # raises OpenAPIValidationError with the offending path
    assert spec["openapi"].startswith("3.")


def test_openapi_lists_every_endpoint(spec):
    for path, methods in PATHS.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path


def test_openapi_declares_bearer_and_session_auth(spec):
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["BearerToken"].items()
    assert schemes["SessionAuth"]["in"] == "cookie"
    operation = spec["paths"]["/api/v1/tickets"]["get"]
    assert {"BearerToken": []} in operation["security"] and {"SessionAuth": []} in operation["security"]


def test_openapi_documents_the_error_shape(spec):
    escalate = spec["paths"]["/api/v1/tickets/{ref}/escalate"]["post"]
    assert {"200", "400", "403", "404", "422"} <= set(escalate["responses"])
    errors = spec["components"]["schemas"]["Errors"]
    assert errors["properties"]["errors"]["type"] == "object"


def test_docs_page_is_served_without_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
