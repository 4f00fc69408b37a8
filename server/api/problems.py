"""RFC 9457 problem documents: the one error body of the API, for every 4xx and 5xx.

`type` is a relative URI naming the kind of problem (`/problems/<slug>`); `errors` lists field
problems as `{"in", "field", "messages"}` with dotted paths for nested fields; `reasons` lists
machine-readable rule failures. Domain errors (server.errors) and HTTP errors (werkzeug,
webargs validation) both end here.
"""

from __future__ import annotations

import logging

from flask import g, json, make_response, request
from flask_smorest import Api
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from schemas.problem import ProblemSchema
from server.api.openapi import (
    HEADERS,
    PAGINATION_HEADER,
    RESPONSES,
    SCHEMAS,
    ProblemResponsesPlugin,
    nullable2properties,
    oneof2properties,
)
from server.errors import DomainError, TooLarge, field_errors, problem_document

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"

#: Slugs for HTTP statuses raised by the framework rather than by a domain error.
HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: TooLarge.type_slug,  # one type for every 413, werkzeug's and the domain's
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str | None = None,
    headers: dict | None = None,
    **members,
):
    """A Flask response carrying an RFC 9457 problem document (server.errors builds it; the
    request adds where it happened)."""
    body = problem_document(
        status,
        title,
        detail,
        slug=slug or HTTP_SLUGS.get(status, "error"),
        instance=request.path,
        request_id=getattr(g, "request_id", None),
        **members,
    )
    response = make_response(json.dumps(body, ensure_ascii=False), status)
    response.mimetype = PROBLEM_MIMETYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages) -> list[dict]:
    """webargs messages (`{location: {field: [...]}}`) → field problems with `in` and dotted
    paths."""
    if not isinstance(messages, dict):
        return [{"in": None, **e} for e in field_errors(messages)]
    return [
        {"in": str(location), **error}
        for location, fields in messages.items()
        for error in field_errors(fields)
    ]


def _summary(errors: list[dict]) -> str:
    parts = [f"{e['field']}: {' '.join(e['messages'])}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


class ProblemApi(Api):
    """flask-smorest Api whose every error answer is a problem document."""

    ERROR_SCHEMA = ProblemSchema
    #: No catch-all: each operation lists what it answers (server.api.openapi), 5XX included.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, app=None, **kwargs):
        spec_kwargs = {"extra_plugins": [ProblemResponsesPlugin()], **kwargs.pop("spec_kwargs", {})}
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        converter = self.ma_plugin.converter
        converter.add_attribute_function(oneof2properties)
        converter.add_attribute_function(nullable2properties)
        functions = converter.attribute_functions
        functions[functions.index(converter.field2nullable)] = functions.pop()
        for name, schema in SCHEMAS.items():
            self.spec.components.schema(name, schema)

    def _register_responses(self):
        """Every error response documented as a problem document, 460 (tus) and 5XX included,
        with the headers that come with it (`Retry-After`, `WWW-Authenticate`)."""
        super()._register_responses()
        components = self.spec.components
        for name, response in list(components.responses_lazy.items()):
            content = response.get("content", {})
            if "application/json" in content:
                content[PROBLEM_MIMETYPE] = content.pop("application/json")
            if name in HEADERS:
                response["headers"] = HEADERS[name]
        for name, response in RESPONSES.items():
            components.response(
                name,
                {**response, "content": {PROBLEM_MIMETYPE: {"schema": "Problem"}}},
                lazy=True,
            )

    def _register_pagination_header(self):
        self.spec.components.header("PAGINATION", PAGINATION_HEADER, lazy=True)

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(DomainError, self.handle_domain_error)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        if isinstance(error, InternalServerError) and error.original_exception is not None:
            return self.handle_unexpected(error.original_exception)
        if isinstance(error, RequestEntityTooLarge):
            # MAX_CONTENT_LENGTH refused the body: the same problem as the domain's TooLarge.
            limit = request.max_content_length
            return self.handle_domain_error(
                TooLarge(
                    f"the request body is larger than the {limit} bytes this server accepts",
                    limit=limit,
                    unit="bytes",
                )
            )
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        headers = dict(data.get("headers") or {})
        errors = None
        messages = data.get("errors") or data.get("messages")
        if messages:
            errors = flatten_messages(messages)
        if status == 422 and errors:
            detail = "the request is invalid: " + _summary(errors)
        else:
            detail = data.get("message") or error.description
        if status == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return problem(status, error.name, detail, headers=headers, errors=errors)

    def handle_domain_error(self, error: DomainError):
        headers = {}
        retry_after = getattr(error, "retry_after", None)  # TooManyRequests, a busy 503
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return problem(
            error.status,
            error.title,
            error.detail,
            slug=error.type_slug,
            headers=headers,
            errors=error.errors,
            reasons=error.reasons,
            **error.extra,
        )

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        if isinstance(error, DomainError):
            return self.handle_domain_error(error)
        if isinstance(error, (ConnectionFailure, RedisConnectionError, RedisTimeoutError)):
            # A dependency is down: the client should retry later, nothing is wrong with it.
            log.error("dependency unavailable", extra={"error": str(error)[:300]})
            which = "the database" if isinstance(error, ConnectionFailure) else "the job queue"
            return problem(
                503,
                "Service unavailable",
                f"{which} is unavailable; retry later",
                headers={"Retry-After": "30"},
            )
        log.exception("unhandled error", exc_info=error)
        return problem(
            500,
            "Internal server error",
            "the server failed; the error was logged with this request id",
        )
