"""Shared pieces of the public report tests: a jurisdiction with a firm and its people, another
jurisdiction's supervisor, a phone-like photo that says where and with what it was taken, and
reports sent over the API and the form."""

from __future__ import annotations

import io
import re

from PIL import Image, ImageDraw

from server.actor import Role
from tests.factories import EnterpriseFactory, JurisdictionFactory, enterprise_user, regulator
from tests.media.helpers import exif_block, jpeg

API = "/api/v1/public-reports"
CONTACT = "13800138000 王先生"
#: A photo whose EXIF names the phone, its owner and where it was taken.
GPS = (31.2304, 121.4737, 12.5)


def photo(seed: int = 0) -> bytes:
    exif = exif_block(gps=GPS, make="Huawei", model="Mate 60 Pro")
    exif[0x013B] = "王某某"  # Artist: who took it
    image = Image.new("RGB", (640, 480), (40 * seed % 256, 120, 140))
    ImageDraw.Draw(image).rectangle((0, 0, 160, 120), fill=(255, 0, 0))
    return jpeg(image, exif=exif)


def make_world(auth_headers) -> dict:
    j1, j2 = JurisdictionFactory(name="浦东新区"), JurisdictionFactory(name="闵行区")
    firm = EnterpriseFactory(jurisdiction_id=j1.id, name="上海某化工有限公司")
    people = {
        "supervisor": regulator(Role.SUPERVISOR, j1),
        "inspector": regulator(Role.INSPECTOR, j1),
        "manager": enterprise_user(Role.ENTERPRISE_MANAGER, firm),
        "worker": enterprise_user(Role.WORKER, firm),
        "other_supervisor": regulator(Role.SUPERVISOR, j2),
    }
    return {
        "J1": j1,
        "J2": j2,
        "firm": firm,
        **people,
        "headers": {name: auth_headers(user) for name, user in people.items()},
    }


def report_body(world, **changes) -> dict:
    body = {
        "jurisdiction_id": str(world["J1"].id),
        "enterprise_name": "上海某化工有限公司",
        "enterprise_address": "浦东新区某路1号",
        "place": "二号车间",
        "description": "消防通道被货物堵塞，灭火器过期",
        "contact": CONTACT,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def send(client, body: dict, *, address: str = "203.0.113.7"):
    return client.post(API, json=body, environ_base={"REMOTE_ADDR": address})


def add_photo(client, code: str, data: bytes, content_type: str = "image/jpeg"):
    return client.post(
        f"{API}/follow-up/{code}/photos",
        data=data,
        content_type=content_type,
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )


def send_form(client, fields: dict, photos: list[bytes], *, address: str = "198.51.100.9"):
    data = {**fields, "photos": [(io.BytesIO(p), f"IMG_{i}.jpg") for i, p in enumerate(photos)]}
    return client.post(
        "/report",
        data=data,
        content_type="multipart/form-data",
        environ_base={"REMOTE_ADDR": address},
    )


def code_on(page: str) -> str:
    return re.search(r'id="code">([0-9A-Z-]+)<', page).group(1)
