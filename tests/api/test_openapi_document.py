"""What server.api.openapi adds to the document names real operations, and the paged lists
say what `X-Pagination` is (the rest is checked by generating a client and by schemathesis:
tests/api/test_client_types.py, tests/api/test_fuzz.py)."""

from __future__ import annotations

from server.api.openapi import PARTICULAR


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_particular_status_list_names_an_operation(client):
    document = client.get("/openapi.json").get_json()
    names = {operation["operationId"] for _, _, operation in _operations(document)}
    assert set(PARTICULAR) - names == set()


def test_every_paged_list_documents_x_pagination_as_json(client):
    document = client.get("/openapi.json").get_json()
    paged = [
        operation["operationId"]
        for _, _, operation in _operations(document)
        if any(p.get("name") == "page_size" for p in operation.get("parameters", []))
    ]
    assert {"listInspections", "listUsers", "listJobs"} <= set(paged)
    for name in paged:
        [operation] = [o for _, _, o in _operations(document) if o["operationId"] == name]
        assert operation["responses"]["200"]["headers"]["X-Pagination"] == {
            "$ref": "#/components/headers/PAGINATION"
        }
    header = document["components"]["headers"]["PAGINATION"]
    assert header["required"] is True and "schema" not in header
    assert header["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/PaginationMetadata"}}
    }
    metadata = document["components"]["schemas"]["PaginationMetadata"]
    assert metadata["required"] == ["total", "total_pages"]
