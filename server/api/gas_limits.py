"""`/api/v1/gas-limits`: the published gas-test rules (checklists.gas_versions), which phones
also receive through the feed; a version never changes, so it is cached for good."""

from __future__ import annotations

from flask.views import MethodView

from checklists import gas_versions
from schemas.gas_limits import GasLimitsSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.published import cache_versions, negotiated_locale
from server.errors import NotFound
from server.models.gas_limits import GasLimitsVersion

blp = Blueprint("gas_limits", __name__, url_prefix="/api/v1", description="Gas limits")


def _view(version: GasLimitsVersion, locale: str) -> dict:
    return {
        "version": version.id,
        "content_hash": version.content_hash,
        "locale": locale,
        "published_at": version.published_at,
        "changelog": [
            {**entry, "what": entry["what"][locale], "why": entry["why"][locale]}
            for entry in version.changelog
        ],
        "content": version.content,
    }


cache_versions(blp, immutable={"gas_limits.GasLimitsVersionByNumber"})


@blp.route("/gas-limits")
class GasLimitsLatest(MethodView):
    @blp.doc(operationId="getGasLimits")
    @blp.etag
    @blp.response(200, GasLimitsSchema)
    def get(self):
        """The newest published gas-test rules."""
        current_actor()
        locale = negotiated_locale()
        version = gas_versions.find()
        blp.set_etag([version.content_hash, locale])
        return _view(version, locale)


@blp.route("/gas-limits/versions/<version>")
class GasLimitsVersionByNumber(MethodView):
    @blp.doc(operationId="getGasLimitsVersion")
    @blp.etag
    @blp.response(200, GasLimitsSchema)
    def get(self, version):
        """One published version by number; it never changes."""
        current_actor()
        if not version.isascii() or not version.isdigit() or len(version) > 9:
            raise NotFound(f"gas limits version {version} not found")
        locale = negotiated_locale()
        found = gas_versions.find(int(version))
        blp.set_etag([found.content_hash, locale])
        return _view(found, locale)
