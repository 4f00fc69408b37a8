"""Domain outcomes raised below the HTTP layer; one handler in `server.api.problems` maps them.

Flask-free: services, models and jobs raise these; the API turns each into an RFC 9457
problem document with the status below. `reasons` carries machine-readable rule failures,
`errors` field-level problems.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure of a use case."""

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict] | None = None,
        reasons: list[dict] | None = None,
        **extra,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.reasons = reasons
        self.extra = extra


class NotFound(DomainError):
    """The object does not exist, or exists outside the caller's tenant (never say which)."""

    status = 404
    title = "Not found"
    type_slug = "not-found"


class Unauthenticated(DomainError):
    """No valid credentials: missing, wrong, expired or revoked."""

    status = 401
    title = "Unauthenticated"
    type_slug = "unauthenticated"


class Forbidden(DomainError):
    """The caller is known but their role may not do this."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class Conflict(DomainError):
    """The request contradicts the current state (duplicate key, stale version)."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class RuleViolation(DomainError):
    """A rule of the domain refuses the request; `reasons` lists each failed rule."""

    status = 422
    title = "Rule violation"
    type_slug = "rule-violation"


class TooLarge(DomainError):
    """More than a size limit allows (a photo, a body past its `Upload-Length`, a pushed
    record or batch); `limit` and `unit` say the limit when the raiser knows it."""

    status = 413
    title = "Payload too large"
    type_slug = "too-large"

    def __init__(self, detail: str, *, limit: int | None = None, unit: str | None = None, **kw):
        super().__init__(detail, limit=limit, unit=unit, **kw)


class TooManyRequests(DomainError):
    """A rate limit was hit; `retry_after` seconds tells when to try again."""

    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int, **kwargs):
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


def problem_document(
    status: int, title: str, detail: str | None = None, *, slug: str, **members
) -> dict:
    """An RFC 9457 problem document: `type` (`/problems/<slug>`), `title`, `status`,
    `detail`, plus any members that are not None. The one builder of problem bodies: the API
    adds `instance` and `request_id`, push receipts carry it as it is."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in members.items() if v is not None})
    return body


def problem_of(error: DomainError) -> dict:
    """The problem document of a domain error."""
    return problem_document(
        error.status,
        error.title,
        error.detail,
        slug=error.type_slug,
        errors=error.errors,
        reasons=error.reasons,
        **error.extra,
    )


def field_errors(messages, prefix: str = "") -> list[dict]:
    """marshmallow's nested error messages as a flat list of `{"field", "messages"}`, with
    dotted paths for nested fields (`answers.CS-09.value`)."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += field_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return [{"field": prefix or "_schema", "messages": list(messages)}]
    return [{"field": prefix or "_schema", "messages": [str(messages)]}]
