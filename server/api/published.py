"""What the views of published versions (checklists, gas limits) share: the locale they answer
in (Accept-Language, zh-CN by default), and their caching — a numbered version never changes
and is cached for good, the newest is revalidated with its ETag."""

from __future__ import annotations

from flask import request

from checklists.template import LOCALES
from server.api.blueprint import Blueprint


def negotiated_locale() -> str:
    return request.accept_languages.best_match(LOCALES, default=LOCALES[0])


def cache_versions(blp: Blueprint, *, immutable: set[str]) -> None:
    """Cache headers on `blp`'s GET answers; `immutable`: the endpoints of numbered versions."""

    @blp.after_request
    def _caching_headers(response):
        if response.status_code in (200, 304) and request.method == "GET":
            response.headers["Cache-Control"] = (
                "private, max-age=31536000, immutable"
                if request.endpoint in immutable
                else "private, no-cache"
            )
            response.vary.add("Accept-Language")
            response.vary.add("Authorization")
        return response
