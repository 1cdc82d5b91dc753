"""The OpenAPI schema says what the API does: one entry per operation, the right bodies,
pages as pages, errors in the error shape."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient


@pytest.fixture
def schema(db) -> dict:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("reader"))
    response = client.get("/api/schema")
    assert response.status_code == 200
    return response.json()


def body_schema(schema: dict, path: str, method: str = "post") -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    name = content["schema"]["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]


def test_each_operation_is_listed_once_without_the_trailing_slash(schema) -> None:
    paths = list(schema["paths"])
    assert "/api/scan" in paths and "/api/residents" in paths
    assert not [path for path in paths if path.endswith("/")]
    ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and not [i for i in ids if i[-1].isdigit()]


def test_scan_and_register_document_their_own_bodies(schema) -> None:
    scan = body_schema(schema, "/api/scan")
    register = body_schema(schema, "/api/register")

    assert "mode" in scan["properties"] and "name" not in scan["properties"]
    assert "name" in register["properties"] and "mode" not in register["properties"]


@pytest.mark.parametrize(("path", "item"), [("/api/residents", "name"), ("/api/ledger", "hash")])
def test_lists_are_documented_as_the_pages_they_return(schema, path, item) -> None:
    ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][ok["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["type"] == "array"


def test_every_operation_documents_its_errors_in_the_error_shape(schema) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "403", "429", "503"} <= set(responses), (path, method)
            for status, response in responses.items():
                if int(status) >= 400:
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (path, status)
    scan = schema["paths"]["/api/scan"]["post"]["responses"]
    assert {"201", "404", "409", "422"} <= set(scan)
    assert "event" in schema["components"]["schemas"]["ScanOutput"]["properties"]
    assert "frame" in schema["components"]["schemas"]["ScanOutput"]["properties"]
    occupancy = schema["paths"]["/api/occupancy"]["get"]["responses"]["200"]
    assert occupancy["content"]["application/json"]["schema"]["$ref"].endswith("/OccupancyOutput")


@pytest.mark.django_db
def test_requests_the_api_cannot_read_are_json_errors() -> None:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("root", "r@example.org", "pw"))
    fields = {f"f{n}": "x" for n in range(1200)}  # over DATA_UPLOAD_MAX_NUMBER_FIELDS

    too_many = client.post("/api/register", fields, format="multipart")
    form = client.generic(
        "POST", "/api/token", "username=a&password=b", "application/x-www-form-urlencoded"
    )

    assert too_many.status_code == 400 and too_many["Content-Type"] == "application/json"
    assert too_many.json()["error"]["code"] in ("bad_request", "parse_error")
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"


def test_every_success_response_is_typed(schema) -> None:
    untyped = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if not any(kind.get("schema") for kind in content.values()):
                    untyped.append(f"{method.upper()} {path} {status}")

    assert untyped == []
    occupancy = schema["paths"]["/api/occupancy"]["get"]["responses"]["200"]
    assert occupancy["content"]["application/json"]["schema"]["$ref"].endswith("/OccupancyOutput")
