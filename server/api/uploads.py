"""`/api/v1/uploads`: resumable photo uploads over tus 1.0 (core, creation,
creation-with-upload, checksum, termination, expiration), so off-the-shelf tus clients work;
`X-HTTP-Method-Override` and unread bodies are handled below routing (`server.api.tus_http`).

Thin: headers in, one call to `media.tus`, headers out. Every answer carries
`Tus-Resumable`; errors are problem documents like everywhere else (tus clients read only the
status). `Upload-Metadata` keys: `sha256` (required, hex SHA-256 of the whole file),
`link_kind` (a registered kind, e.g. inspection) and `link_id` (required), `item_code`,
`filename`, `content_type`, `device_time` (ISO 8601 with offset: the phone's clock now).
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
from server.clock import utcnow
from server.models.upload import Upload

blp = Blueprint("uploads", __name__, url_prefix="/api/v1", description="Photo uploads (tus 1.0)")

_HEADER = {"in": "header", "schema": {"type": "string"}}
_VERSION = {"name": "Tus-Resumable", "required": True, **_HEADER, "example": tus.TUS_VERSION}


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
    @blp.response(204, description="Tus-Version, Tus-Extension, Tus-Max-Size, checksums")
    def options(self):
        """tus discovery: what this server supports (no authentication needed)."""
        return Response(status=204, headers=tus.options_headers(settings()))

    @blp.doc(
        operationId="createUpload",
        parameters=[
            _VERSION,
            {"name": "Upload-Length", "required": True, **_HEADER},
            {"name": "Upload-Metadata", "required": True, **_HEADER},
        ],
    )
    @blp.response(201, description="created; `Location` is the upload URL")
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
    @blp.response(204, description="tus discovery, as on /uploads")
    def options(self, upload_id):
        """tus discovery (no authentication needed)."""
        return Response(status=204, headers=tus.options_headers(settings()))

    @blp.doc(operationId="getUploadOffset", parameters=[_VERSION])
    @blp.response(200, description="`Upload-Offset`, `Upload-Length`, `Upload-Expires`")
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
            {"name": "Upload-Offset", "required": True, **_HEADER},
            {"name": "Upload-Checksum", "required": False, **_HEADER},
        ],
        requestBody={
            "required": True,
            "content": {tus.PATCH_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    )
    @blp.response(204, description="stored up to `Upload-Offset`; the last PATCH stores the photo")
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
    @blp.response(204, description="the upload and its received bytes are gone")
    def delete(self, upload_id):
        """tus termination: stop an upload and delete what was received."""
        tus.require_version(request.headers.get("Tus-Resumable"))
        tus.terminate(current_actor(), upload_id, now=utcnow(), store=_store())
        return Response(status=204)
