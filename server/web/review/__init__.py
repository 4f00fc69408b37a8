"""The review site (`/review/...`): server-rendered pages for supervisors, admins and inspectors,
on the cookie sessions with CSRF of server.web.session; the API keeps bearer tokens.

Each page family is its own module with its own blueprint, listed in BLUEPRINTS; the frame they
share (who may use the site, the language, the navigation) is server.web.review.site.
"""

from __future__ import annotations

from flask import Flask

from server.web.review import audit, casefiles, figures, hazards, home, orders, photos, queue

#: The page families of the site, each a blueprint under /review.
BLUEPRINTS = (
    home.bp,
    queue.bp,
    hazards.bp,
    orders.bp,
    casefiles.bp,
    figures.bp,
    audit.bp,
    photos.bp,
)


def install(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
