"""What the OpenAPI document says beyond the views' decorators: the errors every operation can
answer (problem documents, by status), and the typed unions of sync (one schema per collection).

Mobile teams generate clients from `/openapi.json`, so every body there is typed: an operation
lists the statuses it can answer, each with the Problem schema under
`application/problem+json`.
"""

from __future__ import annotations

import http

from apispec import BasePlugin

from schemas.common import OneOfNested

#: Statuses answered by operations of one kind (beyond what the decorators document).
AUTHENTICATED = ("401", "403")
WITH_PATH_ID = ("404",)
WITH_BODY = ("400", "413")

#: Statuses particular operations answer, by operationId.
PARTICULAR = {
    "login": ("400", "401", "429"),
    "changePassword": ("429",),
    "createJurisdiction": ("409",),
    "createEnterprise": ("409",),
    "createUser": ("409",),
    "registerDevice": ("409",),
    "syncPush": ("413",),
    "createUpload": ("400", "412", "413", "415", "460", "503"),
    "getUploadOffset": ("412",),
    "appendUpload": ("400", "409", "412", "413", "415", "460", "503"),
    "terminateUpload": ("412",),
    "listFailedJobs": ("503",),
}

#: The tus checksum extension's own status, absent from http.HTTPStatus.
CHECKSUM_MISMATCH = {"description": "Checksum Mismatch (tus: the chunk's Upload-Checksum)"}


class ProblemResponsesPlugin(BasePlugin):
    """Adds to each operation the error statuses it can answer (refs to the Api's responses,
    whose bodies are problem documents)."""

    def init_spec(self, spec):
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses: list[str] = []
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
    return names


STATUS_NAMES = _status_names()


def oneof2properties(self, field, **kwargs) -> dict:
    """apispec attribute function: a OneOfNested field is a `oneOf` of its schemas' refs, with
    a discriminator when the field names one."""
    if not isinstance(field, OneOfNested):
        return {}
    refs = {key: self.resolve_nested_schema(schema) for key, schema in field.choices.items()}
    ret: dict = {"oneOf": list(refs.values())}
    if field.discriminator:
        ret["discriminator"] = {
            "propertyName": field.discriminator,
            "mapping": {key: ref["$ref"] for key, ref in refs.items()},
        }
    return ret
