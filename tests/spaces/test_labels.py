"""QR labels: tokens signed and verified as pure functions, and the printed labels (PNG, the
PDF sheet rendered by pdftoppm) decoded by a real QR decoder (zxing-cpp) and verified."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from xml.etree import ElementTree

import pytest
import zxingcpp
from bson import ObjectId
from PIL import Image

from server.models.audit_event import AuditEvent
from server.services.audit import signing
from server.services.spaces import labels
from tests.environment import AUDIT_KEY
from tests.spaces.tokens import forged, read_qr, token_bytes, token_text

KEYS = labels.keys_from("", AUDIT_KEY)
OTHER_KEYS = labels.keys_from(signing.generate_seed_b64(), AUDIT_KEY)
SPACE = ObjectId("6b0ec850eebe15e12d775aec")
DAY = date(2026, 12, 1)


def _token(space=SPACE, version=1, keys=KEYS):
    return labels.sign(keys[0], space_id=space, version=version, issued=DAY)


def _refused(token, code, **kw):
    with pytest.raises(labels.LabelError) as caught:
        labels.verify(token, KEYS, **kw)
    assert caught.value.code == code
    assert code in labels.LABEL_REASONS


def test_a_token_is_85_bytes_in_114_characters_and_verifies():
    token = _token()
    assert len(token) == 114
    label = labels.verify(token, KEYS, current_version=1, space_id=SPACE)
    assert (label.space_id, label.version, label.issued) == (SPACE, 1, DAY)
    assert _token() == token  # deterministic: a reprint is the same QR


def test_the_label_key_is_derived_from_the_audit_key_but_is_not_it():
    audit = signing.private_key(AUDIT_KEY)
    assert signing.public_raw(KEYS[0].public) != signing.public_raw(audit)
    assert labels.keys_from("", AUDIT_KEY)[0].key_id == KEYS[0].key_id


def test_a_forged_token_is_refused():
    # Signed by a key of the same id layout the verifier does not hold.
    _refused(_token(keys=OTHER_KEYS), labels.UNKNOWN_KEY)
    # The verifier's key id, another key's signature.
    _refused(forged(KEYS[0].key_id, space_id=SPACE, version=1, issued=DAY), labels.FORGED)


@pytest.mark.parametrize("offset", [5, 16, 17, 19, 20, 40, 84])
def test_an_altered_token_is_refused(offset):
    raw = token_bytes(_token())
    raw[offset] ^= 0x01
    _refused(token_text(raw), labels.FORGED)


@pytest.mark.parametrize(
    "text", ["", "abc", "A" * 114, _token()[:-1], _token() + "A", _token()[:-1] + "+", "é" * 114]
)
def test_malformed_tokens_are_refused(text):
    _refused(text, labels.MALFORMED)


def test_a_non_canonical_encoding_of_the_same_bytes_is_refused():
    token = _token()
    # The last character carries 4 unused bits: changing them keeps the bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    twin = token[:-1] + alphabet[last ^ 0x01]
    _refused(twin, labels.MALFORMED)


def test_a_rotated_out_label_is_refused():
    _refused(_token(version=1), labels.ROTATED, current_version=2, space_id=SPACE)
    assert labels.verify(_token(version=2), KEYS, current_version=2).version == 2


def test_another_spaces_token_is_refused_for_this_space():
    _refused(_token(space=ObjectId()), labels.OTHER_SPACE, space_id=SPACE)


def test_a_retired_key_still_verifies_labels_it_signed():
    new, old = signing.generate_seed_b64(), signing.generate_seed_b64()
    before = labels.keys_from(old, AUDIT_KEY)
    after = labels.keys_from(f"{new},{old}", AUDIT_KEY)
    token = labels.sign(before[0], space_id=SPACE, version=1, issued=DAY)
    assert labels.verify(token, after).space_id == SPACE
    assert [k["signs"] for k in labels.public_keys(after)] == [True, False]


def test_the_url_and_back():
    url = labels.url("https://aq.example.gov.cn/", _token())
    assert url == "https://aq.example.gov.cn/s/" + _token()
    assert labels.token_of(url) == _token()
    assert labels.token_of(_token()) == _token()


# ---- over the API, with real images -------------------------------------------------------


def _space(client, world):
    body = {
        "enterprise_id": str(world["A"].id),
        "code": "YX-001",
        "name": "1号污水井",
        "type": "underground",
    }
    return client.post("/api/v1/spaces", json=body, headers=world["headers"]["manager"])


def _keys(client):
    published = client.get("/api/v1/spaces/label-keys").get_json()["keys"]
    return tuple(
        labels.LabelKey(signing.load_public_key(k["public_key"].encode())) for k in published
    )


def test_issue_a_label_and_decode_its_png(client, world, app, jobs):
    headers = world["headers"]["manager"]
    space_id = _space(client, world).get_json()["id"]
    assert client.get(f"/api/v1/spaces/{space_id}/label", headers=headers).status_code == 404
    issued = client.post(f"/api/v1/spaces/{space_id}/label", headers=headers)
    assert issued.status_code == 201
    label = issued.get_json()
    assert label["label_version"] == 1
    assert label["url"] == "http://127.0.0.1:8000/s/" + label["token"]
    png = client.get(f"/api/v1/spaces/{space_id}/label.png", headers=headers)
    assert png.mimetype == "image/png"
    [text] = read_qr(Image.open(io.BytesIO(png.data)))
    assert text == label["url"]
    # The phone's offline check: published public keys only.
    keys = _keys(client)
    found = labels.verify(labels.token_of(text), keys, current_version=1, space_id=space_id)
    assert str(found.space_id) == space_id
    # Version and error correction as README says.
    result = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))[0]
    assert result.ec_level == "Q"
    assert result.extra["Version"] == "10"
    # A new label retires the printed one.
    client.post(f"/api/v1/spaces/{space_id}/label", headers=headers)
    with pytest.raises(labels.LabelError) as caught:
        labels.verify(labels.token_of(text), keys, current_version=2, space_id=space_id)
    assert caught.value.code == labels.ROTATED
    jobs()
    assert AuditEvent.objects(action="space.label").count() == 2


def test_only_writers_issue_labels(client, world):
    space_id = _space(client, world).get_json()["id"]
    for who in ("worker", "supervisor", "inspector"):
        url = f"/api/v1/spaces/{space_id}/label"
        assert client.post(url, headers=world["headers"][who]).status_code == 403
    url = f"/api/v1/spaces/{space_id}/label"
    assert client.post(url, headers=world["headers"]["manager_b"]).status_code == 404


def test_the_svg_carries_the_text_and_the_code(client, world):
    headers = world["headers"]["manager"]
    space_id = _space(client, world).get_json()["id"]
    client.post(f"/api/v1/spaces/{space_id}/label", headers=headers)
    svg = client.get(f"/api/v1/spaces/{space_id}/label.svg", headers=headers)
    assert svg.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(svg.data)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "1号污水井" in texts and "编号 YX-001" in texts
    assert "危险！未经许可严禁入内；" in texts and "先通风、再检测、后作业" in texts
    # Rasterise the path and decode it: the SVG's QR is the same code.
    path = root.find("{http://www.w3.org/2000/svg}path")
    image = _raster(path.get("d"))
    [text] = read_qr(image)
    assert text == client.get(f"/api/v1/spaces/{space_id}/label", headers=headers).json["url"]


def _raster(d: str, scale: int = 8) -> Image.Image:
    squares = re.findall(r"M(\d+) (\d+)h(\d+)", d)
    n = max(int(x) + int(r) for x, _y, r in squares) + 4
    image = Image.new("L", (n * scale, n * scale), 255)
    for x, y, run in squares:
        x, y, run = int(x), int(y), int(run)
        image.paste(0, (x * scale, y * scale, (x + run) * scale, (y + 1) * scale))
    return image


def test_the_pdf_sheet_decodes_and_carries_the_chinese_text(client, world, tmp_path):
    headers = world["headers"]["manager"]
    ids = []
    for i in range(5):
        body = {
            "enterprise_id": str(world["A"].id),
            "code": f"YX-{i:03d}",
            "name": f"{i}号污水井",
            "type": "underground",
        }
        ids.append(client.post("/api/v1/spaces", json=body, headers=headers).get_json()["id"])
        client.post(f"/api/v1/spaces/{ids[-1]}/label", headers=headers)
    sheet = client.get(f"/api/v1/enterprises/{world['A'].id}/space-labels.pdf", headers=headers)
    assert sheet.mimetype == "application/pdf"
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(sheet.data)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for wanted in (
        "危险！未经许可严禁入内；",
        "先通风、再检测、后作业",
        "编号 YX-004",
        "4号污水井",
    ):
        assert wanted in text
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 2
    found = [t for page in pages for t in read_qr(Image.open(page))]
    keys = _keys(client)
    assert sorted(str(labels.verify(labels.token_of(t), keys).space_id) for t in found) == sorted(
        ids
    )
    other = client.get(
        f"/api/v1/enterprises/{world['A'].id}/space-labels.pdf",
        headers=world["headers"]["manager_b"],
    )
    assert other.status_code == 404
