"""A confined space of enterprise A with a label, its people, and a permit made ready for entry
through the API (approved, every record a rule asks for, the attendant checked in)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from server.actor import Role
from server.clock import rfc3339, utcnow
from tests.factories import enterprise_user

READINGS = {
    "O2": {"value": 20.8, "unit": "%VOL"},
    "LEL": {"value": 2, "unit": "%LEL"},
    "H2S": {"value": 1, "unit": "ppm"},
    "CO": {"value": 5, "unit": "mg/m3"},
}
#: GB 30871 judges a flammable gas in %VOL, by the gas's LEL.
HAZCHEM_READINGS = {
    **{k: v for k, v in READINGS.items() if k != "LEL"},
    "FLAM_VOL": {"value": 0.1, "unit": "%VOL", "gas": "CH4"},
}


@dataclass
class Site:
    client: object
    world: dict
    headers: dict
    users: dict
    space: dict
    token: str
    permit: dict | None = None
    nonces: list = field(default_factory=list)

    def id(self, name: str) -> str:
        return str(self.users[name].id)

    def post(self, url, body, who="manager"):
        return self.client.post(url, json=body, headers=self.headers[who])

    def permit_body(self, **over) -> dict:
        now = utcnow()
        return {
            "space_id": self.space["id"],
            "work": "清淤",
            "valid_from": rfc3339(now - timedelta(hours=1)),
            "valid_to": rfc3339(now + timedelta(hours=6)),
            "attendants": [self.id("attendant")],
            "entrants": [
                {"user_id": self.id("worker"), "name": "张三"},
                {"user_id": self.id("contractor"), "name": "李四", "employer": "某清淤公司"},
            ],
            "max_headcount": 2,
            **over,
        }

    def make_permit(self, **over) -> dict:
        response = self.post("/api/v1/permits", self.permit_body(**over))
        assert response.status_code == 201, response.get_json()
        self.permit = response.get_json()
        return self.permit

    def transition(self, action, who="manager", **body):
        url = f"/api/v1/permits/{self.permit['id']}/transitions"
        response = self.post(
            url, {"action": action, "version": self.permit["version"], **body}, who
        )
        if response.status_code == 200:
            self.permit = response.get_json()
        return response

    def record(self, kind, who, *, minutes_ago=0, **body):
        at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
        url = f"/api/v1/permits/{self.permit['id']}/records"
        return self.post(url, {"kind": kind, "at": at.isoformat(), **body}, who)

    def ready(self, *, readings=None, test_minutes_ago=5, **over) -> dict:
        """A permit every entry rule passes on, the attendant checked in."""
        self.make_permit(**over)
        assert self.transition("approve", capacity="principal").status_code == 200
        for kind, who in (("briefing", "manager"), ("isolation", "manager")):
            assert self.record(kind, who, minutes_ago=30).status_code == 201
        for kind in ("unlock", "ppe", "rescue_kit"):
            assert self.record(kind, "attendant", minutes_ago=25).status_code == 201
        assert self.record("ventilation_start", "attendant", minutes_ago=20).status_code == 201
        test = {"instrument": "MSA ALTAIR 4XR #123", "readings": readings or READINGS}
        tested = self.record("gas_test", "manager", minutes_ago=test_minutes_ago, **test)
        assert tested.status_code == 201, tested.get_json()
        checked = self.scan("attendant_check_in", who="attendant")
        assert checked.get_json()["allowed"], checked.get_json()
        return self.permit

    def scan(self, action, who="worker", *, token=None, nonce=None, **body):
        nonce = nonce or uuid.uuid4().hex
        self.nonces.append(nonce)
        payload = {
            "token": token or self.token,
            "action": action,
            "nonce": nonce,
            "sent_at": datetime.now(UTC).isoformat(),
            "device_id": f"phone-{who}",
            **body,
        }
        response = self.post("/api/v1/spaces/scan", payload, who)
        assert response.status_code in (200, 409, 422, 403), response.get_json()
        return response


def make_site(client, world, auth_headers, **space_over) -> Site:
    a = world["A"]
    a.regime = "industrial"
    a.save()
    users = dict(world["users"])
    users["attendant"] = enterprise_user(Role.WORKER, a)
    users["contractor"] = enterprise_user(Role.WORKER, world["B"])
    headers = dict(world["headers"])
    for name in ("attendant", "contractor"):
        headers[name] = auth_headers(users[name])
    body = {
        "enterprise_id": str(a.id),
        "code": "YX-001",
        "name": "1号污水井",
        "type": "underground",
        "location": {"longitude": 121.9, "latitude": 30.9},
        "geofence_radius_m": 30,
        "underground": True,
        "gases": [],
        "ppe": ["正压式空气呼吸器"],
        "rescue_equipment": ["三脚架"],
        **space_over,
    }
    space = client.post("/api/v1/spaces", json=body, headers=headers["manager"]).get_json()
    label = client.post(f"/api/v1/spaces/{space['id']}/label", headers=headers["manager"])
    assert label.status_code == 201, label.get_json()
    return Site(client, world, headers, users, space, label.get_json()["token"])
