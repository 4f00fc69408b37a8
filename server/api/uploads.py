"""`/api/v1/uploads`: resumable photo uploads over tus 1.0 (core, creation,
creation-with-upload, checksum, termination, expiration), so off-the-shelf tus clients work;
`X-HTTP-Method-Override` and unread bodies are handled below routing (`server.api.tus_http`).

Thin: headers in, one call to `media.tus`, headers out. Every answer carries
`Tus-Resumable`; errors are problem documents like everywhere else (tus clients read only the
status). `Upload-Metadata` keys: `sha256` (required, hex SHA-256 of the whole file),
`link_kind` (a registered kind, e.g. inspection) and `link_id` (required), `item_code`,
`filename`, `content_type`, `device_time` (ISO 8601 with offset: the phone's clock now),
`capture` (`camera`: taken with the app's own camera; `library`: picked from the gallery).
"""

from __future__ import annotations

from flask import Response, request, url_for
from flask.views import MethodView
from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import http_date

from media import tus
from media.blobstore import BlobStore
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.openapi import BINARY, header
from server.clock import utcnow
from server.models.upload import Upload

blp = Blueprint("uploads", __name__, url_prefix="/api/v1", description="Photo uploads (tus 1.0)")

_VERSION = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "enum": [tus.TUS_VERSION]},
}
_BYTES = {"type": "integer", "minimum": 0, "maximum": 10**15 - 1}  # what tus.parse_int_header reads
_METADATA = {
    "name": "Upload-Metadata",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "comma-separated `key base64(value)` pairs (tus). Read: `sha256` (required, "
    "hex SHA-256 of the whole file), `link_kind` (required, e.g. inspection), `link_id` "
    "(required), `item_code`, `filename` (at most 255 characters), `content_type` (at most "
    "100), `device_time` (ISO 8601 with a UTC offset: the phone's clock now); other keys (a tus "
    "client's `filetype`, `name`) are ignored.",
}
_CHECKSUM = {
    "name": "Upload-Checksum",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^(sha256|sha1) [A-Za-z0-9+/]+={0,2}$"},
    "description": "`<algorithm> <base64 digest>` of this request's body",
}
_BODY = {tus.PATCH_CONTENT_TYPE: {"schema": BINARY}}

#: Response headers of the tus answers (`Tus-Resumable` is on every one, errors included).
_RESUMABLE = {"Tus-Resumable": header("the protocol version: 1.0.0")}
_DISCOVERY = {
    **_RESUMABLE,
    "Tus-Version": header("versions this server speaks: 1.0.0"),
    "Tus-Extension": header("creation,creation-with-upload,checksum,termination,expiration"),
    "Tus-Max-Size": header("the largest upload, in bytes (MAX_UPLOAD_BYTES)", type="integer"),
    "Tus-Checksum-Algorithm": header("sha256,sha1"),
}
_STATE = {
    **_RESUMABLE,
    "Upload-Offset": header("bytes the server has", **_BYTES),
    "Upload-Length": header("bytes of the whole file", **_BYTES),
    "Upload-Expires": header("when an unfinished upload is deleted (an HTTP date)"),
    "Photo-Id": header("the photo's SHA-256, once its last byte is stored", required=False),
}


def _store() -> BlobStore:
    return BlobStore(Upload._get_db())


def _state_headers(upload: Upload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Upload-Expires": http_date(upload.expires_at),
    }
    if upload.photo_id:
        headers["Photo-Id"] = upload.photo_id
    return headers


def _read_body():
    stream = request.stream

    def read(size: int) -> bytes:
        try:
            return stream.read(size)
        except ClientDisconnected:  # keep what arrived (tus); the caller sees a short body
            return b""

    return read


@blp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = tus.TUS_VERSION
    if response.status_code == 412:
        response.headers["Tus-Version"] = tus.TUS_VERSION
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.doc(operationId="describeUploads", security=[])
    @blp.response(204, description="what the server supports", headers=_DISCOVERY)
    def options(self):
        """tus discovery: what this server supports (no authentication needed)."""
        return Response(status=204, headers=tus.options_headers(settings()))

    @blp.doc(
        operationId="createUpload",
        parameters=[
            _VERSION,
            {"name": "Upload-Length", "in": "header", "required": True, "schema": _BYTES},
            _METADATA,
            _CHECKSUM,
        ],
        requestBody={"required": False, "content": _BODY},
    )
    @blp.response(
        201,
        description="created; `Location` is the upload URL",
        headers={"Location": header("the upload's URL", format="uri-reference"), **_STATE},
    )
    def post(self):
        """tus creation: announce a photo (size, sha256, link target); returns its URL. With
        creation-with-upload the body (`application/offset+octet-stream`) is the first bytes,
        as a PATCH at offset 0 would send them; the answer's `Upload-Offset` says how many."""
        tus.require_version(request.headers.get("Tus-Resumable"))
        actor = current_actor()
        if "Upload-Defer-Length" in request.headers:
            raise tus.BadRequest("Upload-Defer-Length is not supported: send Upload-Length")
        with_data = tus.carries_data(request.headers.get("Content-Type"))
        checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        upload = tus.create_upload(
            actor,
            length=tus.parse_int_header("Upload-Length", request.headers.get("Upload-Length")),
            metadata_header=request.headers.get("Upload-Metadata"),
            now=utcnow(),
            settings=settings(),
        )
        if with_data:
            upload, _ = tus.append(
                actor,
                upload.id,
                offset=0,
                read=_read_body(),
                content_length=request.content_length,
                checksum=checksum,
                now=utcnow(),
                settings=settings(),
                store=_store(),
            )
        location = url_for("uploads.UploadById", upload_id=upload.id)
        return Response(status=201, headers={"Location": location, **_state_headers(upload)})


@blp.route("/uploads/<upload_id>")
class UploadById(MethodView):
    @blp.doc(operationId="describeUpload", security=[])
    @blp.response(204, description="tus discovery, as on /uploads", headers=_DISCOVERY)
    def options(self, upload_id):
        """tus discovery (no authentication needed)."""
        return Response(status=204, headers=tus.options_headers(settings()))

    @blp.doc(operationId="getUploadOffset", parameters=[_VERSION])
    @blp.response(
        200,
        description="where the upload stands",
        headers={
            **_STATE,
            "Upload-Metadata": header("as the creation sent it", required=False),
            "Cache-Control": header("no-store"),
        },
    )
    def head(self, upload_id):
        """tus: how many bytes the server has (resume from `Upload-Offset`)."""
        tus.require_version(request.headers.get("Tus-Resumable"))
        upload = tus.get_upload(current_actor(), upload_id, now=utcnow())
        headers = _state_headers(upload)
        if upload.metadata_header:
            headers["Upload-Metadata"] = upload.metadata_header
        return Response(status=200, headers=headers)

    @blp.doc(
        operationId="appendUpload",
        parameters=[
            _VERSION,
            {"name": "Upload-Offset", "in": "header", "required": True, "schema": _BYTES},
            _CHECKSUM,
        ],
        requestBody={"required": True, "content": _BODY},
    )
    @blp.response(
        204,
        description="stored up to `Upload-Offset`; the last PATCH stores the photo",
        headers=_STATE,
    )
    def patch(self, upload_id):
        """tus: append bytes at `Upload-Offset`; the last byte turns the upload into a photo."""
        tus.require_version(request.headers.get("Tus-Resumable"))
        actor = current_actor()
        tus.require_patch_type(request.headers.get("Content-Type"))
        upload, _ = tus.append(
            actor,
            upload_id,
            offset=tus.parse_int_header("Upload-Offset", request.headers.get("Upload-Offset")),
            read=_read_body(),
            content_length=request.content_length,
            checksum=tus.parse_checksum(request.headers.get("Upload-Checksum")),
            now=utcnow(),
            settings=settings(),
            store=_store(),
        )
        return Response(status=204, headers=_state_headers(upload))

    @blp.doc(operationId="terminateUpload", parameters=[_VERSION])
    @blp.response(204, description="the upload and its received bytes are gone", headers=_RESUMABLE)
    def delete(self, upload_id):
        """tus termination: stop an upload and delete what was received."""
        tus.require_version(request.headers.get("Tus-Resumable"))
        tus.terminate(current_actor(), upload_id, now=utcnow(), store=_store())
        return Response(status=204)
