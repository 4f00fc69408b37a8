"""Photo benchmark (`make bench ONLY=media`), on the servers `make bench` started:

- ingest of 12-MP phone-like JPEGs (Pillow-made, sensor-like noise, 3-5 MB each) through the
  whole upload path — tus creation and one PATCH (what tus clients send by default: tuspy,
  tus-js-client) through the HTTP layer in-process,
  staging in MongoDB, hash check, format checks, decode, EXIF, thumbnail, watermarked review
  copy, blob adoption, photo record — against the unavoidable work alone: Pillow decode +
  thumbnail encode + a raw pymongo write of the same bytes in 1 MiB documents. Same process,
  same server, best of 5 runs: target ≤ 1.3× (`media_ingest_ratio`). The same upload in
  1 MiB PATCHes is printed too (each PATCH costs a request: authentication, two conditional
  updates);
- peak RSS of a fresh API process (real WSGI server in a subprocess) receiving a 25 MB photo
  in 1 MB PATCHes, against the same for a 2 MB photo of the same pixel count, so the ratio
  shows what grows with the file, not with the picture: target ≤ 1.2× (`upload_rss_growth`);
- peak RSS of a fresh API process (the same subprocess, read from its /proc VmHWM, so the
  client's memory is not mixed in) while 8 clients upload 49-MP PNGs at once (the largest
  MAX_IMAGE_PIXELS allows; a few hundred KB each, 150 MB decoded), against the same for one
  such upload: target ≤ 2× (`hostile_upload_rss`). Clients send the last PATCH again after
  a 503's Retry-After, as tus clients do.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from bson import Binary
from mongoengine.connection import get_db
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from bench.common import bench_settings, peak_rss_mb, target, timed
from media import links
from server.actor import Role
from server.app import create_app
from server.clock import utcnow
from server.db import connect_mongo, ensure_indexes
from server.models import DOCUMENTS
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.token import AuthToken
from server.models.user import User
from server.services.auth import token_hash
from server.services.passwords import hash_password

PHOTOS = 4
RUNS = 5
PATCH = 1024 * 1024
MEDIA_COLLECTIONS = (
    "media_uploads",
    "media_chunks",
    "media_blobs",
    "photos",
    "photo_contexts",
    "bench_raw",
)


def phone_jpeg(seed: int, size=(4000, 3000), noise=0.35, quality=88) -> bytes:
    """Gradient + sensor-like noise + EXIF, as a 12-MP phone camera would write it."""
    base = Image.linear_gradient("L").resize(size).rotate(seed * 7, expand=False).convert("RGB")
    grain = Image.merge("RGB", [Image.effect_noise(size, 40 + seed + i) for i in range(3)])
    image = Image.blend(base, grain, noise)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 5, size[1] // 5), fill=(200, 30, 30))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Xiaomi", "Redmi Note 12", 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:23:45"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def sized_jpeg(megabytes: float, seed: int, size=(4000, 3000)) -> bytes:
    """A 12-MP JPEG of about `megabytes`: same pixels, more or less colour noise."""
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    for sigma, quality in ((4, 75), (8, 80), (12, 85), (60, 92), (80, 94), (100, 95), (128, 96)):
        grain = Image.merge("RGB", [Image.effect_noise(size, sigma) for _ in range(3)])
        out = io.BytesIO()
        Image.blend(base, grain, 0.5).save(out, "JPEG", quality=quality, subsampling=0)
        if len(out.getvalue()) >= megabytes * 0.9e6:
            return out.getvalue()
    return out.getvalue()


def peak_rss_of_this_process_mb() -> float:
    """VmHWM: unlike ru_maxrss it is not inherited from the parent across fork/exec."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def setup() -> tuple[dict, Enterprise]:
    """An inspector with a bearer token, and hazards of one enterprise to link photos to."""
    settings = bench_settings()
    connect_mongo(settings)
    ensure_indexes(DOCUMENTS)
    j = (
        Jurisdiction.objects(code="319999").first()
        or Jurisdiction(code="319999", name="基准辖区").save()
    )
    enterprise = (
        Enterprise.objects(credit_code="91310000BENCH0001X").first()
        or Enterprise(
            name="上海某机械有限公司",
            credit_code="91310000BENCH0001X",
            industry="机械",
            address="上海市",
            jurisdiction_id=j.id,
        ).save()
    )
    user = (
        User.objects(username="bench-inspector").first()
        or User(
            username="bench-inspector",
            display_name="张检查",
            role=Role.INSPECTOR.value,
            jurisdiction_id=j.id,
            password_hash=hash_password("bench-password", "CHEAPEST"),
        ).save()
    )
    token = f"bench-{os.urandom(8).hex()}"
    AuthToken(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=2),
    ).save()
    return {"Authorization": f"Bearer {token}"}, enterprise


#: A stand-in link kind of the benchmark's own, as in the media tests (tests/media/serve_api.py
#: serves the same one), so the service's real kinds stay as wired.
LINK_KIND = "finding"


def register_hazards(enterprise: Enterprise) -> None:
    links.register_link_kind(LINK_KIND, lambda actor, link_id: links.LinkTarget(enterprise.id))


def tus_headers(data: bytes, link_id: str) -> dict:
    meta = {"sha256": hashlib.sha256(data).hexdigest(), "link_kind": LINK_KIND, "link_id": link_id}
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    return {"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)), "Upload-Metadata": encoded}


def upload_via(post, patch, auth: dict, data: bytes, link_id: str, size: int = PATCH) -> None:
    """tus creation + PATCHes of `size` bytes, through any HTTP client's post/patch."""
    created = post("/api/v1/uploads", headers={**auth, **tus_headers(data, link_id)})
    assert created.status_code == 201, created
    url = created.headers["Location"]
    for offset in range(0, len(data), size):
        response = patch(
            url,
            data=data[offset : offset + size],
            headers={
                **auth,
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert response.status_code == 204, (response.status_code, response.headers)


def clean() -> None:
    db = get_db()
    for name in MEDIA_COLLECTIONS:
        db[name].delete_many({})


def ingest_ratio(auth: dict, enterprise: Enterprise) -> float:
    client = create_app(bench_settings()).test_client()
    register_hazards(enterprise)
    photos = [phone_jpeg(seed) for seed in range(PHOTOS)]
    sizes = ", ".join(f"{len(p) / 1e6:.1f}" for p in photos)
    print(f"{PHOTOS} photos of 4000×3000 px, {sizes} MB")
    raw = get_db()["bench_raw"]

    def ingest(size=None):
        clean()
        for n, data in enumerate(photos):
            upload_via(client.post, client.patch, auth, data, f"h-{n}", size or len(data))

    def ingest_chunked():
        ingest(PATCH)

    def unavoidable():
        clean()
        for n, data in enumerate(photos):
            image = Image.open(io.BytesIO(data), formats=["JPEG"])
            image.load()
            image.thumbnail((320, 320))
            image.save(io.BytesIO(), "JPEG", quality=80)
            for i in range(0, len(data), PATCH):
                raw.insert_one({"_id": f"{n}:{i}", "data": Binary(data[i : i + PATCH])})

    def unavoidable_draft():  # for the record: the same with draft-mode decoding
        clean()
        for n, data in enumerate(photos):
            image = Image.open(io.BytesIO(data), formats=["JPEG"])
            image.draft("RGB", (1600, 1200))
            image.load()
            image.thumbnail((320, 320))
            image.save(io.BytesIO(), "JPEG", quality=80)
            for i in range(0, len(data), PATCH):
                raw.insert_one({"_id": f"{n}:{i}", "data": Binary(data[i : i + PATCH])})

    ingest()  # warm-up: fonts, code paths, the server's JIT
    unavoidable()
    ingest_s = timed(ingest, RUNS)
    base_s = timed(unavoidable, RUNS)
    draft_s = timed(unavoidable_draft, RUNS)
    chunked_s = timed(ingest_chunked, RUNS)
    clean()
    per = 1000 / PHOTOS
    print(f"ingest through the upload path, one PATCH: {ingest_s * per:.0f} ms/photo")
    print(f"  (in 1 MiB PATCHes, not the target's measure: {chunked_s * per:.0f} ms/photo)")
    print(f"unavoidable (full decode + thumbnail + raw write): {base_s * per:.0f} ms/photo")
    print(f"  (same with draft-mode decode, not the target's baseline: {draft_s * per:.0f} ms)")
    return ingest_s / base_s


# --- peak RSS of a fresh API process ------------------------------------------------------

SERVE = "serve"


def serve() -> None:
    """Child process: the API under a real WSGI server until stdin closes; prints peak RSS."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per PATCH
    enterprise = Enterprise.objects(credit_code="91310000BENCH0001X").first()
    register_hazards(enterprise)
    print(f"API process idle: {peak_rss_of_this_process_mb():.0f} MiB", file=sys.stderr)
    server = make_server("127.0.0.1", 0, create_app(bench_settings()), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdin.read()
    server.shutdown()
    print(f"{peak_rss_of_this_process_mb():.1f}", flush=True)


def rss_of_upload(auth: dict, data: bytes, link_id: str) -> float:
    return rss_of_uploads(auth, [(data, link_id)], size=PATCH)


def rss_of_uploads(auth: dict, photos: list[tuple[bytes, str]], size: int) -> float:
    """Peak RSS (MiB) of a fresh API process while clients upload `photos` side by side,
    each in PATCHes of `size` bytes (a 503 is retried after its Retry-After)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.media", SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    busy = []
    try:
        port = int(child.stdout.readline())
        base = f"http://127.0.0.1:{port}"

        def one(data: bytes, link_id: str) -> None:
            with requests.Session() as http:

                def patch(url, **kw):
                    while True:
                        response = http.patch(base + url, **kw)
                        if response.status_code != 503:
                            return response
                        busy.append(link_id)
                        time.sleep(int(response.headers.get("Retry-After", "1")))

                upload_via(
                    lambda url, **kw: http.post(base + url, **kw),
                    patch,
                    auth,
                    data,
                    link_id,
                    size,
                )

        with ThreadPoolExecutor(len(photos)) as clients:
            for done in [clients.submit(one, *photo) for photo in photos]:
                done.result()
        out, _ = child.communicate("", timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    if busy:
        print(f"  ({len(busy)} PATCHes answered 503 and were sent again)")
    return float(out.strip())


def rss_growth(auth: dict) -> float:
    small, large = sized_jpeg(2, seed=31), sized_jpeg(25, seed=32)
    print(f"RSS: 4000×3000 px photos of {len(small) / 1e6:.1f} MB and {len(large) / 1e6:.1f} MB")
    small_mb = rss_of_upload(auth, small, "rss-small")
    large_mb = rss_of_upload(auth, large, "rss-large")
    print(f"peak RSS of the API process: {small_mb:.0f} MiB (2 MB) vs {large_mb:.0f} MiB (25 MB)")
    clean()
    return large_mb / small_mb


#: The largest picture MAX_IMAGE_PIXELS (50,000,000) allows, square; 8 clients at once.
HOSTILE_SIZE, HOSTILE_CLIENTS = (7000, 7000), 8


def hostile_pngs(n: int) -> list[bytes]:
    """49-MP RGB PNGs of a few hundred KB (smooth gradients), distinct by a block's place."""
    grey = Image.linear_gradient("L").resize(HOSTILE_SIZE)
    base = Image.merge("RGB", [grey, grey.rotate(90), grey.rotate(180)])
    out = []
    for i in range(n):
        image = base.copy()
        ImageDraw.Draw(image).rectangle((i * 500, 0, i * 500 + 400, 400), fill=(200, 30, 30))
        data = io.BytesIO()
        image.save(data, "PNG", compress_level=1)
        out.append(data.getvalue())
    return out


def hostile_rss(auth: dict) -> float:
    pngs = hostile_pngs(HOSTILE_CLIENTS + 1)
    w, h = HOSTILE_SIZE
    print(f"hostile: {w}×{h} px PNGs of {len(pngs[0]) / 1e6:.2f} MB, each in one PATCH")
    one_mb = rss_of_uploads(auth, [(pngs[0], "hostile-0")], size=len(pngs[0]))
    clean()
    photos = [(data, f"hostile-{n}") for n, data in enumerate(pngs[1:], 1)]
    many_mb = rss_of_uploads(auth, photos, size=len(pngs[1]))
    clean()
    print(
        f"peak RSS of the API process: {one_mb:.0f} MiB (1 upload) vs {many_mb:.0f} MiB "
        f"({HOSTILE_CLIENTS} at once)"
    )
    return many_mb / one_mb


def main() -> int:
    auth, enterprise = setup()
    started = time.perf_counter()
    ratio = ingest_ratio(auth, enterprise)
    growth = rss_growth(auth)
    hostile = hostile_rss(auth)
    print(f"({time.perf_counter() - started:.0f} s)")
    ok = target("media_ingest_ratio", ratio, "<=", 1.3)
    ok &= target("upload_rss_growth", growth, "<=", 1.2)
    ok &= target("hostile_upload_rss", hostile, "<=", 2.0)
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == [SERVE]:
        connect_mongo(bench_settings())
        serve()
    else:
        sys.exit(main())
