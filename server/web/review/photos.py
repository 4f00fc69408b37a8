"""`/review/photos/<sha256>/<copy>`: the photos every page of the site shows, through the cookie
session and by the same visibility rule as the API's (media.links): the thumbnail, a context's
watermarked review copy, or the original (only for who may see positions)."""

from __future__ import annotations

from flask import Response, request

from media.blobstore import BlobStore
from media.links import gps_visible, visible_photo
from server.errors import Forbidden, NotFound
from server.models.photo import Photo
from server.web.review import site

bp = site.blueprint("review_photos", __name__)

#: Content-addressed: a copy never changes under its URL.
HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


@bp.get("/photos/<sha256>/<copy>")
@site.page()
def photo(actor, sha256, copy):
    """`?context=<id>` chooses the upload context whose review copy is shown (its watermark)."""
    shown = visible_photo(actor, sha256, request.args.get("context") or None)
    store = BlobStore(Photo._get_db())
    if copy == "thumbnail":
        return Response(
            store.read_all(shown.photo.thumbnail), mimetype="image/jpeg", headers=HEADERS
        )
    if copy == "review":
        return Response(
            store.read_all(shown.context.review), mimetype="image/jpeg", headers=HEADERS
        )
    if copy == "original":
        if not gps_visible(actor, shown.context):
            raise Forbidden(site.t("site.forbidden"))
        data = store.read(shown.photo.id, 0, shown.photo.size)
        return Response(data, mimetype=shown.photo.content_type, headers=HEADERS)
    raise NotFound(f"no {copy} of a photo")
