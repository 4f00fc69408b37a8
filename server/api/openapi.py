"""What the OpenAPI document says beyond the views' decorators: the errors every operation can
answer (problem documents, by status), and the typed unions of sync (one schema per collection).

Mobile teams generate clients from `/openapi.json`, so every body there is typed: an operation
lists the statuses it can answer, each with the Problem schema under
`application/problem+json`. There is no catch-all `default`: a 4xx an operation answers is
listed on it (schemathesis checks that, tests/api/test_fuzz.py), and `5XX` stands for the
server's own failures (503 while a dependency is down, with `Retry-After`; a 500 is a bug).
"""

from __future__ import annotations

import http

from apispec import BasePlugin

from schemas.common import JSON_VALUE_COMPONENT, OneOfNested, PaginationMetadataSchema

#: Statuses answered by operations of one kind (beyond what the decorators document).
EVERY = ("5XX",)
AUTHENTICATED = ("401", "403")
WITH_PATH_ID = ("404",)
WITH_BODY = ("400", "413")

#: Statuses particular operations answer, by operationId.
PARTICULAR = {
    # A device key bound at login: another's device (409), a revoked one (403).
    "login": ("400", "401", "403", "409", "429"),
    "renewToken": ("401",),
    # Concurrent changes of the same user, and of an enterprise (or a credit code taken).
    "changePassword": ("409", "429"),
    "resetPassword": ("409",),
    "updateUser": ("409",),
    "updateEnterprise": ("409",),
    "setEnterpriseRegime": ("409",),
    "createJurisdiction": ("409",),
    # The jurisdiction or enterprise the body names is not in the caller's scope (404).
    "createEnterprise": ("404", "409"),
    "createUser": ("404", "409"),
    "createSpace": ("404",),  # the enterprise named is not in the caller's scope
    "createHazard": ("404",),  # the enterprise named is not in the caller's scope
    # A transition decided on a version that is no longer current (409); unmet requirements.
    "takeHazardTransition": ("409", "422"),
    # Permits: the space named is out of scope (404); a stale version (409), a wrong state.
    "createPermit": ("404",),
    "takePermitTransition": ("409", "422"),
    "appendPermitRecord": ("404",),
    "scanSpace": ("409",),  # a replayed request
    # Public reports: per address (429), an unknown enterprise or jurisdiction (422); a photo
    # too large (413), not an image (415, 422), past the count (422), the report decided
    # (409), the decode budget full (503); a decision on a decided report (409), an
    # enterprise outside the jurisdiction (404).
    "submitPublicReport": ("422", "429"),
    "addPublicReportPhoto": ("409", "413", "415", "422", "503"),
    "verifyPublicReport": ("409", "422"),
    "dismissPublicReport": ("409",),
    # Unmet rules (422); the inspection, co-inspector, issuing body or order named (404).
    "issueOrder": ("404", "422"),
    # Served already in another way, or changed meanwhile (409); unmet rules (422).
    "serveOrder": ("409", "422"),
    "createIssuingBody": ("404", "422"),
    "getFieldRecordPdf": ("422",),  # the inspection is a draft
    "getReinspectionOpinionPdf": ("422",),  # none of the order's hazards re-inspected yet
    "reserveNumberBlock": ("422",),  # no 执法证号, or no issuing body to choose
    "voidReservedNumber": ("422",),  # the number is used or voided already
    "registerDevice": ("409",),
    # A decision on an inspection not awaiting review or on another version (409); a return
    # naming items the inspection did not answer (422).
    "decideInspection": ("404", "409", "422"),
    "syncPull": ("400",),  # a cursor this server did not issue
    "getGasLimits": ("404",),  # none published yet
    "syncPush": ("413",),
    # tus: the version (412), a chunk's checksum (460), the decode budget (503); the metadata,
    # an empty or a bad image (422), its format (415), the link target (404).
    "createUpload": ("400", "404", "412", "413", "415", "422", "460", "503"),
    "getUploadOffset": ("412",),
    "appendUpload": ("400", "409", "412", "413", "415", "422", "460", "503"),
    "terminateUpload": ("409", "412"),  # 409: the photo is being stored
    "listJobs": ("503",),  # Redis down, for `state=failed`
    "getFigures": ("404",),  # the jurisdiction or enterprise named is not in the caller's scope
    "submitMonthlyReport": ("409", "422"),  # another report for the month; a month ahead
}

#: Schemas written as OpenAPI rather than marshmallow, by component name.
SCHEMAS = {"JsonValue": JSON_VALUE_COMPONENT}

#: `X-Pagination` is JSON in a header: documented as a header whose content is
#: `application/json` (OpenAPI 3 §4.8.21), not as a simple-style object, which it is not.
PAGINATION_HEADER = {
    "description": "the list's paging, as JSON",
    "required": True,
    "content": {"application/json": {"schema": PaginationMetadataSchema}},
}

#: A body of raw bytes (an image, a PDF), and one of text (an SVG), for what views answer
#: themselves (flask-smorest then documents a schema given as such).
BINARY = {"type": "string", "format": "binary"}
TEXT = {"type": "string"}


def binary(*media_types: str) -> dict:
    """The `content` of a response whose body is bytes of one of these media types."""
    return {media_type: {"schema": BINARY} for media_type in media_types}


def header(description: str, *, required: bool = True, **schema) -> dict:
    """A response header; its value is text unless `schema` says otherwise."""
    return {
        "description": description,
        "required": required,
        "schema": {"type": "string", **schema},
    }


_RETRY_AFTER = header("seconds to wait before trying again", required=False, type="integer")
#: Error responses beyond http.HTTPStatus's, and headers of the standard ones, by name.
RESPONSES = {
    # The tus checksum extension's own status.
    "CHECKSUM_MISMATCH": {"description": "Checksum Mismatch (tus: the chunk's Upload-Checksum)"},
    "SERVER_ERROR": {
        "description": "the server failed (500, logged with the request id) or a dependency is "
        "down (503, with Retry-After when a retry may succeed)",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
}
HEADERS = {
    "UNAUTHORIZED": {"WWW-Authenticate": header("the scheme to authenticate with: Bearer")},
    "TOO_MANY_REQUESTS": {"Retry-After": {**_RETRY_AFTER, "required": True}},
    "SERVICE_UNAVAILABLE": {"Retry-After": _RETRY_AFTER},
}


class ProblemResponsesPlugin(BasePlugin):
    """Adds to each operation the error statuses it can answer (refs to the Api's responses,
    whose bodies are problem documents)."""

    def init_spec(self, spec):
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses: list[str] = list(EVERY)
            if operation.get("security") != []:
                statuses += AUTHENTICATED
            if "{" in (path or ""):
                statuses += WITH_PATH_ID
            if "requestBody" in operation:
                statuses += WITH_BODY
            statuses += PARTICULAR.get(operation.get("operationId"), ())
            responses = operation["responses"]
            for status in statuses:
                responses.setdefault(status, STATUS_NAMES[status])


def _status_names() -> dict[str, str]:
    names = {str(s.value): s.name for s in http.HTTPStatus}
    names["460"] = "CHECKSUM_MISMATCH"
    names["5XX"] = "SERVER_ERROR"
    return names


STATUS_NAMES = _status_names()


def oneof2properties(self, field, **kwargs) -> dict:
    """apispec attribute function: a OneOfNested field is a `oneOf` of its schemas' refs (and
    of the plain values it also takes), with a discriminator when the field names one."""
    if not isinstance(field, OneOfNested):
        return {}
    refs = {key: self.resolve_nested_schema(schema) for key, schema in field.choices.items()}
    ret: dict = {"oneOf": [*refs.values(), *field.also]}
    if field.discriminator:
        ret["discriminator"] = {
            "propertyName": field.discriminator,
            "mapping": {key: ref["$ref"] for key, ref in refs.items()},
        }
    return ret


def nullable2properties(self, field, ret, **kwargs) -> dict:
    """apispec attribute function, in place of its `field2nullable` for OpenAPI 3.0: a nullable
    nested schema is `allOf: [ref]` with `nullable: true`. apispec's `anyOf` of the ref and
    `{type: object, nullable: true}` admits any object at all, and generated clients type it
    `Record<string, never> | Ref` (without null)."""
    if not field.allow_none:
        return {}
    if "$ref" in ret:
        return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
    return {"nullable": True}
