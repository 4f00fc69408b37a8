"""Problem types of photo uploads and evidence: each refusal has its own `/problems/<slug>`.

They subclass the domain errors of `server.errors`, so the one handler of the HTTP layer turns
them into RFC 9457 documents; a phone can tell a retryable conflict (offset, checksum) from a
file that will never be accepted (format, bomb, corrupt). Too many bytes is the API's one
`server.errors.TooLarge`.
"""

from __future__ import annotations

from server.errors import Conflict, DomainError, RuleViolation


class TusVersionUnsupported(DomainError):
    """The request does not speak tus 1.0.0 (`Tus-Resumable` missing or another version)."""

    status = 412
    title = "Unsupported tus version"
    type_slug = "unsupported-tus-version"


class OffsetMismatch(Conflict):
    """PATCH `Upload-Offset` is not the server's offset: HEAD, then resume from there."""

    type_slug = "offset-mismatch"


class ChecksumMismatch(DomainError):
    """tus checksum extension: the PATCH body does not match `Upload-Checksum`; the server
    kept none of it, so the same PATCH can be sent again."""

    status = 460
    title = "Checksum mismatch"
    type_slug = "checksum-mismatch"


class EmptyUpload(RuleViolation):
    """Zero bytes are no photo."""

    type_slug = "empty-upload"


class Sha256Mismatch(RuleViolation):
    """The whole file does not hash to the `sha256` declared in `Upload-Metadata`."""

    type_slug = "sha256-mismatch"


class UnsupportedImageFormat(DomainError):
    """Not one of the allowed formats (JPEG, PNG, WebP), whatever the file name or type says."""

    status = 415
    title = "Unsupported image format"
    type_slug = "unsupported-image-format"


class CorruptImage(RuleViolation):
    """The file claims an allowed format but does not decode completely (truncated, damaged)."""

    type_slug = "corrupt-image"


class ImageTooLarge(RuleViolation):
    """Too many pixels: a decompression bomb or simply above `MAX_IMAGE_PIXELS`."""

    type_slug = "image-too-large"


class TrailingData(RuleViolation):
    """Bytes after the end of the image that no image structure accounts for (a polyglot)."""

    type_slug = "trailing-data"


class UnknownLinkKind(RuleViolation):
    """No owner registered this link kind on this server (`media.links.register_link_kind`)."""

    type_slug = "unknown-link-kind"


class UnsupportedContentType(DomainError):
    """A tus PATCH must carry `Content-Type: application/offset+octet-stream`."""

    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


class DecoderBusy(DomainError):
    """The process's decode budget stayed full (`media.images.PixelBudget`): nothing of the
    PATCH was kept; send it again after `retry_after` seconds."""

    status = 503
    title = "Service unavailable"
    type_slug = "decoder-busy"

    def __init__(self, detail: str, *, retry_after: int, **kwargs):
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after
