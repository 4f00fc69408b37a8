"""The frame every page of the review site shares: who may use it, the page's language and its
words, and the navigation.

The site is zh-CN first, en available: `?lang=en` (or `zh-CN`) chooses and the session keeps the
choice; without one, zh-CN. A page's words are looked up by key in words.yaml beside this module
(`t("queue.title")` in a template), one catalogue for the whole site, so a missing English word
shows its Chinese one rather than a key.
"""

from __future__ import annotations

from functools import cache, wraps
from pathlib import Path

import yaml
from flask import Blueprint, g, redirect, render_template, request, session

from server.actor import Actor, Role
from server.errors import DomainError, Forbidden
from server.web import session as web_session

LOCALES = ("zh-CN", "en")
#: The roles that use the site; each page narrows it further.
SITE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR})
#: The session key of the chosen language.
LANG = "review_lang"


def blueprint(name: str, import_name: str) -> Blueprint:
    """A page family's blueprint under /review, with CSRF on its forms and the site's frame."""
    bp = Blueprint(name, import_name, url_prefix="/review", template_folder="templates")
    web_session.protect(bp)
    bp.before_request(_choose_locale)
    bp.context_processor(
        lambda: {"t": t, "locale": locale(), "nav": navigation(g.get("review_actor"))}
    )
    bp.register_error_handler(DomainError, _refused)
    return bp


def _refused(error: DomainError):
    """A refusal on a page is a page in the site's frame, with the status of its problem."""
    page = render_template("review/refused.html", status=error.status, detail=error.detail)
    return page, error.status


def page(*roles: Role):
    """Decorate a page view: not logged in, to the login form and back; logged in with another
    role, 403. The view receives the actor as its first argument."""
    allowed = frozenset(roles) or SITE_ROLES

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            actor = web_session.current_actor()
            if actor is None:
                return redirect(web_session.login_url(request.full_path.rstrip("?")), 303)
            if actor.role not in allowed:
                raise Forbidden(t("site.forbidden"))
            g.review_actor = actor
            return view(actor, *args, **kwargs)

        return wrapper

    return decorate


def _choose_locale() -> None:
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session[LANG] = chosen


def locale() -> str:
    chosen = session.get(LANG)
    return chosen if chosen in LOCALES else LOCALES[0]


@cache
def _words() -> dict[str, dict[str, str]]:
    return yaml.safe_load((Path(__file__).with_name("words.yaml")).read_text(encoding="utf-8"))


def t(key: str, **values) -> str:
    """The page's word for `key` in its language (zh-CN where en has none)."""
    entry = _words()[key]
    text = entry.get(locale()) or entry["zh-CN"]
    return text.format(**values) if values else text


#: The site's sections: (endpoint, word key, roles that see it). A page family adds its row.
SECTIONS: list[tuple[str, str, frozenset[Role]]] = [
    ("review_home.home", "nav.home", SITE_ROLES),
    ("review_queue.queue_page", "nav.queue", frozenset({Role.SUPERVISOR, Role.ADMIN})),
    ("review_queue.awaiting_page", "nav.awaiting", frozenset({Role.INSPECTOR})),
    ("review_hazards.hazard_list", "nav.hazards", SITE_ROLES),
    ("review_figures.figures_page", "nav.figures", frozenset({Role.SUPERVISOR, Role.ADMIN})),
    ("review_audit.audit", "nav.audit", frozenset({Role.ADMIN, Role.SUPERVISOR})),
]


def navigation(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    return [(endpoint, t(key)) for endpoint, key, roles in SECTIONS if actor.role in roles]
