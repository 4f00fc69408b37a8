"""WSGI middleware for the tus upload URLs: `X-HTTP-Method-Override`, below Flask's routing.

tus 1.0 core: a server MUST take `X-HTTP-Method-Override` as the request's method. A POST
carrying `X-HTTP-Method-Override: PATCH` (or `DELETE`) is routed as that method, so clients
behind proxies that drop PATCH (tus-js-client's `overridePatchMethod`) work. Scoped to the
upload URLs: nowhere else does a POST stand for another method.

(Bodies an endpoint answers without reading — a 401 or 409 before the bytes — need nothing
here: gunicorn discards the unread rest before it reads the next request on a connection, and
werkzeug's development server closes every connection after its answer.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

#: Methods a POST may stand for (the ones proxies are known to drop).
OVERRIDABLE = frozenset({"PATCH", "DELETE"})


class TusRequests:
    """Wraps a WSGI app; a POST under `prefix` may name the method it stands for."""

    def __init__(self, app: Callable, prefix: str):
        self.app = app
        self.prefix = prefix.rstrip("/")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "POST" and (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
            if override in OVERRIDABLE:
                environ["REQUEST_METHOD"] = override
        return self.app(environ, start_response)
