"""`/api/v1/checklists`: versioned checklist downloads for phones, cacheable with ETags.

A version's content never changes, so its ETag is its content hash plus the locale; a phone
that already holds it gets 304 and no body. The locale follows Accept-Language (zh-CN by
default, en).
"""

from __future__ import annotations

from flask.views import MethodView

from checklists import versions
from checklists.loader import load_editions
from checklists.review import unsure_facts
from schemas.checklist import ChecklistSchema, ChecklistSummarySchema, UnsureFactSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.published import cache_versions, negotiated_locale
from server.clock import utcnow
from server.errors import Forbidden
from server.models.checklist import ChecklistVersion

blp = Blueprint("checklists", __name__, url_prefix="/api/v1", description="Checklists")


def _view(version: ChecklistVersion, locale: str, summary: bool = False) -> dict:
    localized = version.localized[locale]
    body = {
        "code": version.code,
        "version": version.version,
        "content_hash": version.content_hash,
        "locale": locale,
        "title": localized["title"],
        "item_count": version.item_count,
        "published_at": version.published_at,
        "changelog": localized.get("changelog", []),
    }
    if not summary:
        body.update(
            description=localized["description"],
            sources=localized["sources"],
            items=localized["items"],
            format=localized.get("format", 1),
            gases=localized.get("gases", {}),
        )
    return body


cache_versions(blp, immutable={"checklists.ChecklistVersionByNumber"})


@blp.route("/checklists")
class Checklists(MethodView):
    @blp.doc(operationId="listChecklists")
    @blp.etag
    @blp.response(200, ChecklistSummarySchema(many=True))
    def get(self):
        """The newest version of every checklist, without items."""
        current_actor()
        locale = negotiated_locale()
        latest = versions.latest_versions()
        blp.set_etag([[v.content_hash for v in latest], locale])
        return [_view(v, locale, summary=True) for v in latest]


@blp.route("/checklists/review")
class ChecklistReview(MethodView):
    @blp.doc(operationId="listUnsureChecklistFacts")
    @blp.response(200, UnsureFactSchema(many=True))
    def get(self):
        """Every fact of the current checklists and gas limits tagged [M] or UNSURE, with what
        is unsure and the source to read (admin; the same list as checklists/REVIEW.md)."""
        actor = current_actor()
        if not actor.is_admin:
            raise Forbidden("only an admin reviews the unsettled facts")
        return [fact.to_dict() for fact in unsure_facts()]


@blp.route("/checklists/<code>")
class ChecklistLatest(MethodView):
    @blp.doc(operationId="getChecklist")
    @blp.etag
    @blp.response(200, ChecklistSchema)
    def get(self, code):
        """The newest version of one checklist (CS, HW, FH or OC)."""
        current_actor()
        locale = negotiated_locale()
        version = versions.find(code)
        blp.set_etag([version.content_hash, locale])
        return _view(version, locale)


@blp.route("/checklists/<code>/versions/<version>")
class ChecklistVersionByNumber(MethodView):
    @blp.doc(operationId="getChecklistVersion")
    @blp.etag
    @blp.response(200, ChecklistSchema)
    def get(self, code, version):
        """One published version, by number or content hash; it never changes."""
        current_actor()
        locale = negotiated_locale()
        found = versions.find(code, version)
        blp.set_etag([found.content_hash, locale])
        return _view(found, locale)


@blp.route("/checklists/publish")
class ChecklistPublish(MethodView):
    @blp.doc(operationId="publishChecklists")
    @blp.response(200, ChecklistSummarySchema(many=True))
    def post(self):
        """Publish every template in checklists/data whose content changed (admin)."""
        actor = current_actor()
        if not actor.is_admin:
            raise Forbidden("only an admin publishes checklists")
        published = versions.publish_editions(load_editions(), now=utcnow(), actor=actor)
        locale = negotiated_locale()
        return [_view(versions.find(p.code, p.version), locale, summary=True) for p in published]
