"""`/review`: the site's first page, the sections this user may open."""

from __future__ import annotations

from flask import render_template

from server.web import session as web_session
from server.web.review import site

bp = site.blueprint("review_home", __name__)


@bp.get("/")
@site.page()
def home(actor):
    user = web_session.current_user()
    return render_template("review/home.html", name=user.display_name or user.username)
