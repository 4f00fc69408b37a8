"""`python -m tests.media.serve_api`: the API in a process of its own under werkzeug's
threaded WSGI server (HTTP/1.1, kept-alive connections) on a free loopback port, for tests
that drive it with real HTTP clients. Prints the port, serves until stdin closes.

The suite's servers come from the environment as for the tests (`make test`); `finding` links
(a stand-in kind, registered here only) resolve for everyone to ids starting with `h-`.
"""

from __future__ import annotations

import logging
import sys
import threading

from werkzeug.serving import make_server

from media import links
from server.app import create_app
from tests.environment import test_settings


def main() -> None:
    settings = test_settings()
    if settings is None:
        raise SystemExit("TEST_MONGODB_URI / TEST_REDIS_URL are not set: run it under make test")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(settings)
    links.register_link_kind("finding", lambda actor, link_id: link_id.startswith("h-"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
