"""CORS for the WebView and hybrid apps (flask-cors): pages from the origins in CORS_ORIGINS
may call the API, send the headers the phone app sends and read those that sync and tus
answer with. Nothing is sent when CORS_ORIGINS is empty, nor to any other origin.

A preflight (OPTIONS) never reaches authentication: views authenticate, and an OPTIONS answer
is Flask's automatic one or tus discovery. Tokens travel in `Authorization`, never in cookies,
so no credentials are allowed.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, Response
from flask_cors import CORS

#: Response headers a page may read: tus 1.0's (upload URL, offsets, discovery), the ETag of
#: conditional updates and downloads, the request id, and the pagination of admin lists.
EXPOSED_HEADERS = (
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Max-Size",
    "Tus-Extension",
    "Tus-Checksum-Algorithm",
    "ETag",
    "X-Request-ID",
    "X-Pagination",
)
#: Request headers the app sends beyond those every page may send.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Offset",
    "Upload-Metadata",
    "Upload-Checksum",
    "Upload-Defer-Length",
    "Upload-Concat",
    "X-HTTP-Method-Override",
    "X-Request-ID",
)
METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS")
#: How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours): a photo
#: upload is many PATCHes, each of which would otherwise be preceded by an OPTIONS.
PREFLIGHT_MAX_AGE_S = 7200


def install(app: Flask, origins: Sequence[str]) -> None:
    """Answer CORS for `origins` ("*": any); nothing at all when there are none."""
    if not origins:
        return
    CORS(
        app,
        origins=list(origins),
        methods=list(METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE_S,
        supports_credentials=False,
        # Only to a request that names its origin; flask-cors would otherwise list the
        # allowed origins in every answer.
        always_send=False,
    )

    @app.after_request
    def _vary_on_origin(response: Response) -> Response:
        # flask-cors adds it only when several origins are allowed; a cache must never hand
        # an answer made for one origin, or for a request without one, to another.
        response.vary.add("Origin")
        return response
