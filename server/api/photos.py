"""`/api/v1/photos/{sha256}`: photo evidence — metadata, thumbnail, watermarked review copy and
the untouched original.

A photo is read through one of its upload contexts (server.models.photo): one uploader's
evidence for one object, with its own filename, camera facts, links and watermarked review
copy. Who sees a context is `media.links.can_see`: admins, its uploader, and whoever may see
the object it is linked to. The same bytes uploaded in two tenants are two contexts, and
neither tenant sees the other's. Without `?context=` the caller reads their own oldest
context, else the oldest they may see (the URLs phones already use); `contexts` lists every
one they may see. Anyone who may see none gets 404, exactly as for a photo that does not
exist. The thumbnail and the original are the bytes' own, shared by every context.

GPS policy (`media.links.gps_visible`): admins, supervisors and inspectors see positions;
enterprise managers and workers see them only in contexts they uploaded. For the others the
metadata has no `gps` (neither the field nor the EXIF GPS group) and `/original` — whose EXIF
carries the position — answers 403; they review the thumbnail and the review copy, which
carry no EXIF (the watermark prints the place to about 100 m).

Derived copies are immutable and named by their blob hash: `ETag` is that hash, cached for a
year, and `If-None-Match` answers 304. The original supports single byte ranges (206,
`Content-Range`; 416 when unsatisfiable; a unit other than bytes is ignored, RFC 9110
§14.2) and is streamed chunk by chunk from MongoDB. Every image is served with the type
sniffed at ingest and `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

from flask import Response, jsonify, request
from flask.views import MethodView

from media import images
from media.blobstore import BlobStore
from media.links import gps_visible, visible_photo
from schemas.photo import PhotoQuerySchema, PhotoSchema
from schemas.problem import ProblemSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.openapi import binary, header
from server.api.problems import PROBLEM_MIMETYPE, problem
from server.errors import Forbidden
from server.models.photo import Photo

blp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Photo evidence")

IMMUTABLE = "private, max-age=31536000, immutable"
_ETAG = {"ETag": header("the blob's hash, quoted")}
# Merged into what the decorators document (keyed as they key it, by int).
_DERIVED = {200: {"content": binary("image/jpeg"), "headers": _ETAG}, 304: {"headers": _ETAG}}
_ORIGINAL = {"ETag": header("the photo's SHA-256, quoted"), "Accept-Ranges": header("bytes")}
_SENT_AS = binary(*images.CONTENT_TYPES.values())  # the type sniffed at ingest


def _store() -> BlobStore:
    return BlobStore(Photo._get_db())


@blp.route("/photos/<sha256>")
class PhotoById(MethodView):
    @blp.doc(operationId="getPhoto")
    @blp.arguments(PhotoQuerySchema, location="query")
    @blp.response(200, PhotoSchema)
    def get(self, args, sha256):
        """What the camera said and the server knows about one photo in one of its upload
        contexts, and that context's links."""
        actor = current_actor()
        shown = visible_photo(actor, sha256, args.get("context"))
        body = PhotoSchema().dump(shown)
        if not gps_visible(actor, shown.context):
            body.pop("gps", None)
            body.get("exif", {}).pop("gps", None)
        return jsonify(body)


def _derived(blob: str) -> Response:
    headers = {
        "ETag": f'"{blob}"',
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Authorization",
    }
    if request.if_none_match.contains(blob):
        return Response(status=304, headers=headers)
    return Response(_store().read_all(blob), mimetype="image/jpeg", headers=headers)


@blp.route("/photos/<sha256>/thumbnail")
class PhotoThumbnail(MethodView):
    @blp.doc(operationId="getPhotoThumbnail", responses=_DERIVED)
    @blp.response(200, description="upright JPEG, no EXIF")
    @blp.alt_response(304, description="not modified (If-None-Match)")
    def get(self, sha256):
        """The upright thumbnail (JPEG), the same for every context of the photo."""
        shown = visible_photo(current_actor(), sha256)
        return _derived(shown.photo.thumbnail)


@blp.route("/photos/<sha256>/review")
class PhotoReview(MethodView):
    @blp.doc(operationId="getPhotoReview", responses=_DERIVED)
    @blp.arguments(PhotoQuerySchema, location="query")
    @blp.response(200, description="upright, watermarked JPEG")
    @blp.alt_response(304, description="not modified (If-None-Match)")
    def get(self, args, sha256):
        """The review copy of one context, watermarked for it (time, place, its enterprise,
        its uploader, receipt)."""
        shown = visible_photo(current_actor(), sha256, args.get("context"))
        return _derived(shown.context.review)


@blp.route("/photos/<sha256>/original")
class PhotoOriginal(MethodView):
    @blp.doc(
        operationId="getPhotoOriginal",
        responses={
            200: {"content": _SENT_AS},
            206: {"content": _SENT_AS},
            304: {"headers": _ORIGINAL},
        },
    )
    @blp.response(200, description="the bytes as sent", headers=_ORIGINAL)
    @blp.alt_response(
        206,
        description="one byte range (Range: bytes=...)",
        headers={**_ORIGINAL, "Content-Range": header("bytes <first>-<last>/<size>")},
    )
    @blp.alt_response(304, description="not modified (If-None-Match)")
    @blp.alt_response(
        416,
        schema=ProblemSchema,
        content_type=PROBLEM_MIMETYPE,
        description="range not satisfiable",
        headers={"Content-Range": header("bytes */<size>")},
    )
    def get(self, sha256):
        """The original bytes, untouched (HTTP ranges supported)."""
        actor = current_actor()
        shown = visible_photo(actor, sha256)
        photo = shown.photo
        if not gps_visible(actor, shown.context):
            raise Forbidden("the original carries the camera position; your role sees copies")
        size, etag = photo.size, photo.id
        headers = {
            "ETag": f'"{etag}"',
            "Cache-Control": IMMUTABLE,
            "Accept-Ranges": "bytes",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": (
                f'attachment; filename="{photo.id}.{images.EXTENSIONS[photo.format]}"'
            ),
            "Vary": "Authorization",
        }
        if request.if_none_match.contains(etag):
            return Response(status=304, headers=headers)
        start, end, status = 0, size, 200
        wanted = request.range
        fresh = "If-Range" not in request.headers or request.if_range.etag == etag
        # RFC 9110 §14.2: a Range in a unit other than bytes is ignored (the whole body).
        if wanted is not None and wanted.units == "bytes" and fresh:
            if len(wanted.ranges) == 1:  # several ranges: answer the whole file (allowed)
                found = wanted.range_for_length(size)
                if found is None:
                    return problem(
                        416,
                        "Range not satisfiable",
                        f"the original has {size} bytes",
                        slug="range-not-satisfiable",
                        headers={"Content-Range": f"bytes */{size}", **headers},
                    )
                (start, end), status = found, 206
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        body = _store().read(photo.id, start, end)
        response = Response(body, status=status, mimetype=photo.content_type, headers=headers)
        response.content_length = end - start
        return response
