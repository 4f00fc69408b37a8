"""The reference phone: a simulated device that syncs the way the mobile app must.

It keeps the server's copy of every object it may see (from pulls), its own unsynced edits as
an outbox of mutations with client-generated ids, and retries with exponential backoff when
the link fails. It never deletes an outbox entry before the server has answered it with a
receipt; a conflict or rejection moves the entry to `attention` (shown to the inspector)
instead of blocking the queue. Photos stay on the phone, named by SHA-256 in the answers;
after a push it sends those the receipts say the server lacks, over tus, resuming an
interrupted upload from the server's offset. Tests and benchmarks drive it through any
`Transport`: the in-process WSGI app, or a `FlakyLink` that loses, duplicates and reorders
requests.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import orjson

from server.services.spaces import offline


class LinkDown(Exception):
    """No answer came back (no signal, timeout, response lost)."""


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class Transport(Protocol):
    def send(
        self, method: str, path: str, *, params=None, json=None, data=None, headers=None
    ) -> Reply: ...


class WsgiTransport:
    """Requests straight into a WSGI app's test client (anything with `.open`)."""

    def __init__(self, test_client):
        self._client = test_client

    def send(self, method, path, *, params=None, json=None, data=None, headers=None) -> Reply:
        response = self._client.open(
            path, method=method, query_string=params, json=json, data=data, headers=headers or {}
        )
        try:
            body = orjson.loads(response.data) if response.data else {}
        except orjson.JSONDecodeError:
            body = {}
        return Reply(response.status_code, body, dict(response.headers))


class FlakyLink:
    """A bad mobile link, seeded: requests lost before the server, responses lost after the
    server committed, requests delivered twice, and stale copies delivered late (reordered)."""

    def __init__(
        self,
        inner: Transport,
        *,
        seed: int,
        lose_request=0.1,
        lose_response=0.2,
        duplicate=0.1,
        delay=0.1,
    ):
        self.inner = inner
        self.random = random.Random(seed)
        self.p = {
            "lose_request": lose_request,
            "lose_response": lose_response,
            "duplicate": duplicate,
            "delay": delay,
        }
        self.offline = False
        self.late: list[tuple] = []
        self.stats = {k: 0 for k in self.p} | {"late_delivered": 0}

    def send(self, method, path, *, params=None, json=None, data=None, headers=None) -> Reply:
        if self.offline:
            raise LinkDown("offline")
        self._deliver_late()
        request = (method, path, copy.deepcopy(params), copy.deepcopy(json), data, headers)
        if self._roll("delay"):
            self.late.append(request)  # a copy turns up later, after newer requests
        if self._roll("lose_request"):
            raise LinkDown("request lost")
        reply = self.inner.send(method, path, params=params, json=json, data=data, headers=headers)
        if self._roll("duplicate"):
            self.inner.send(method, path, params=params, json=json, data=data, headers=headers)
        if self._roll("lose_response"):
            raise LinkDown("response lost after the server answered")
        return reply

    def flush(self) -> None:
        """Deliver every late copy still in flight."""
        while self.late:
            self._deliver_late(force=True)

    def _deliver_late(self, force=False) -> None:
        if self.late and (force or self.random.random() < 0.5):
            method, path, params, json, data, headers = self.late.pop(
                self.random.randrange(len(self.late))
            )
            self.inner.send(method, path, params=params, json=json, data=data, headers=headers)
            self.stats["late_delivered"] += 1

    def _roll(self, what: str) -> bool:
        hit = self.random.random() < self.p[what]
        self.stats[what] += hit
        return hit


@dataclass
class Phone:
    """One device of one user."""

    transport: Transport
    token: str
    device_id: str
    batch_size: int = 50
    max_attempts: int = 12
    sleep: Callable[[float], None] = lambda seconds: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    seed: int = 0
    #: Server copies by collection and id, as last pulled.
    server: dict[str, dict[str, dict]] = field(default_factory=dict)
    #: Local copies of inspections, including unsynced edits.
    local: dict[str, dict] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    attention: list[dict] = field(default_factory=list)
    cursor: str | None = None
    attempts: int = 0
    #: Photos taken on the phone, by SHA-256; kept until the server has them.
    photos: dict[str, bytes] = field(default_factory=dict)
    #: Photos the server asked for (from receipts), per inspection that names them (each is
    #: sent linked to it: the same photo in two inspections is evidence of each):
    #: (sha256, inspection id) -> item code.
    photos_wanted: dict[tuple[str, str], str | None] = field(default_factory=dict)
    #: tus upload URLs of photos being sent, so an interrupted upload resumes where it was.
    upload_urls: dict[tuple[str, str], str] = field(default_factory=dict)
    photo_chunk: int = 256 * 1024
    #: Signs with the device's own key (bound at a password login); with it, an expired
    #: token is renewed without the user, and the queue syncs on.
    device_signer: Callable[[bytes], bytes] | None = None
    renewals: int = 0
    #: This device's own numbering of the entry decisions it made offline (1, 2, ...).
    decision_seq: int = 0

    def __post_init__(self):
        self._random = random.Random(self.seed)

    # -- editing, offline ------------------------------------------------------------------

    def create_inspection(
        self,
        *,
        enterprise_id: str,
        checklist_code: str,
        checklist_version: int,
        answers: dict | None = None,
        **extra,
    ) -> str:
        inspection_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        data = {
            "enterprise_id": enterprise_id,
            "checklist_code": checklist_code,
            "checklist_version": checklist_version,
            "answers": answers or {},
            **extra,
        }
        self.local[inspection_id] = {**data, "id": inspection_id, "version": 1, "status": "draft"}
        self._enqueue("create", inspection_id, data, None)
        return inspection_id

    def take_photo(self, data: bytes) -> str:
        """Keep a photo on the phone; answers name it by the returned SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        self.photos[sha256] = data
        return sha256

    def edit(self, inspection_id: str, **changes) -> None:
        self._change("update", inspection_id, changes)

    def submit(self, inspection_id: str, **changes) -> None:
        self._change("submit", inspection_id, changes)

    def delete(self, inspection_id: str) -> None:
        self._change("delete", inspection_id, {})

    def _change(self, op: str, inspection_id: str, changes: dict) -> None:
        doc = self.local[inspection_id]
        base = doc["version"]
        doc.update(changes, version=base + 1)
        if op == "submit":
            doc["status"] = "submitted"
        if op == "delete":
            doc["deleted"] = True
        self._enqueue(op, inspection_id, changes, base)

    def decide_offline(
        self,
        *,
        space_id: str,
        permit_id: str,
        worker_id: str,
        action: str,
        allowed: bool,
        reasons: list[str],
        gas_limits_version: int,
    ) -> str:
        """Record an entry decision the attendant's app made offline with the pure rules:
        numbered by this device, signed with its key, queued for the next push."""
        self.decision_seq += 1
        moment = self.clock()
        data = {
            "device_id": self.device_id,
            "device_seq": self.decision_seq,
            "space_id": space_id,
            "permit_id": permit_id,
            "worker_id": worker_id,
            "action": action,
            "allowed": allowed,
            "reasons": list(reasons),
            "gas_limits_version": gas_limits_version,
            "device_time": moment,
            "synced_through": self.cursor,
        }
        signature = self.device_signer(offline.signed_bytes(data))
        data.update(device_time=moment.isoformat(), signature=base64.b64encode(signature).decode())
        decision_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        self.outbox.append(
            {
                "mutation_id": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
                "collection": "entry_decisions",
                "op": "create",
                "id": decision_id,
                "data": data,
            }
        )
        return decision_id

    def _enqueue(self, op, inspection_id, data, base_version) -> None:
        mutation = {
            "mutation_id": str(uuid.UUID(int=self._random.getrandbits(128), version=4)),
            "collection": "inspections",
            "op": op,
            "id": inspection_id,
            "data": data,
        }
        if base_version is not None:
            mutation["base_version"] = base_version
        self.outbox.append(mutation)

    # -- syncing ---------------------------------------------------------------------------

    def sync(self) -> None:
        """Push the whole outbox, send the photos the server lacks, then pull."""
        self.push()
        self.upload_photos()
        self.pull()

    def push(self) -> list[dict]:
        receipts = []
        later = []  # rejected for now (what they name has not arrived): sent next time
        while self.outbox:
            batch = self.outbox[: self.batch_size]
            body = {
                "device_id": self.device_id,
                "device_time": self.clock().isoformat(),
                "pending_mutations": len(self.outbox),
                "mutations": batch,
            }
            reply = self._send("POST", "/api/v1/sync/push", json=body)
            answered = {r["mutation_id"]: r for r in reply.body["receipts"]}
            self.outbox = [m for m in self.outbox if m["mutation_id"] not in answered]
            for mutation in batch:
                receipt = answered[mutation["mutation_id"]]
                receipts.append(receipt)
                if receipt["status"] == "rejected" and receipt.get("retryable"):
                    later.append(mutation)
                else:
                    self._settle(mutation, receipt)
        self.outbox = later + self.outbox
        return receipts

    def _settle(self, mutation: dict, receipt: dict) -> None:
        status = receipt.get("first_status", receipt["status"])
        if status == "applied":
            for sha256 in receipt.get("missing_photos") or ():
                self.photos_wanted[(sha256, mutation["id"])] = self._item_of(mutation, sha256)
            return
        self.attention.append({"mutation": mutation, "receipt": receipt})
        if status == "rejected" and "base_version" in mutation:
            # The server did not apply it: later edits of the same draft build on one less.
            self.local[mutation["id"]]["version"] -= 1
            for later in self.outbox:
                if later["id"] == mutation["id"] and "base_version" in later:
                    later["base_version"] -= 1
        if status == "conflict" and receipt.get("server_copy"):
            # The server's copy wins on the phone; the inspector re-applies the edit by hand.
            self.local[mutation["id"]] = copy.deepcopy(receipt["server_copy"])

    @staticmethod
    def _item_of(mutation: dict, sha256: str) -> str | None:
        for code, answer in (mutation.get("data", {}).get("answers") or {}).items():
            if sha256 in (answer.get("photos") or ()):
                return code
        return None

    def upload_photos(self) -> None:
        """Send every wanted photo over tus, resuming each from the server's offset."""
        for (sha256, inspection_id), item_code in list(self.photos_wanted.items()):
            data = self.photos.get(sha256)
            if data is None:
                continue  # not on this phone: another device of the inspector has it
            self._upload(sha256, data, inspection_id, item_code)
            del self.photos_wanted[(sha256, inspection_id)]

    def _upload(self, sha256: str, data: bytes, inspection_id: str, item_code: str | None):
        tus = {"Tus-Resumable": "1.0.0"}
        key = (sha256, inspection_id)
        url = self.upload_urls.get(key)
        if url is None:
            # Photos reach the phone's store only through its camera (`take_photo`).
            meta = {
                "sha256": sha256,
                "link_kind": "inspection",
                "link_id": inspection_id,
                "capture": "camera",
            }
            if item_code:
                meta["item_code"] = item_code
            encoded = ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
            )
            created = self._exchange(
                "POST",
                "/api/v1/uploads",
                headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": encoded},
            )
            if created.status != 201:
                raise RuntimeError(f"upload refused: {created.status} {created.body}")
            url = self.upload_urls[key] = created.headers["Location"]
        while True:
            head = self._exchange("HEAD", url, headers=tus)
            if head.status == 404:  # finished and cleared, or expired: start again
                del self.upload_urls[key]
                return self._upload(sha256, data, inspection_id, item_code)
            offset = int(head.headers["Upload-Offset"])
            if offset >= len(data):
                self.upload_urls.pop(key, None)
                return
            piece = data[offset : offset + self.photo_chunk]
            sent = self._exchange(
                "PATCH",
                url,
                data=piece,
                headers={
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            if sent.status not in (204, 409):  # 409: a copy got there first; ask again
                raise RuntimeError(f"upload failed: {sent.status} {sent.body}")

    def pull(self) -> int:
        applied = 0
        while True:
            params = {"device_id": self.device_id, "pending_mutations": len(self.outbox)}
            if self.cursor:
                params["cursor"] = self.cursor
            reply = self._send("GET", "/api/v1/sync/pull", params=params)
            for change in reply.body["changes"]:
                store = self.server.setdefault(change["collection"], {})
                if change["op"] == "delete":
                    store.pop(change["id"], None)
                else:
                    store[change["id"]] = change["data"]
                applied += 1
            self.cursor = reply.body["cursor"]
            if not reply.body["has_more"]:
                return applied

    def _send(self, method, path, **kwargs) -> Reply:
        reply = self._exchange(method, path, **kwargs)
        if reply.status >= 400:
            raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body}")
        return reply

    def _renew(self) -> bool:
        """Renew an expired (or revoked) token with the device key; False without a key or
        when the server refuses (the user must log in with their password); LinkDown when
        the link failed on the way."""
        if self.device_signer is None:
            return False
        body = {"device_id": self.device_id}
        challenge = self.transport.send("POST", "/api/v1/auth/renewal/challenge", json=body)
        if challenge.status != 201:
            return False
        signature = self.device_signer(challenge.body["signed_message"].encode())
        renewed = self.transport.send(
            "POST",
            "/api/v1/auth/renewal",
            json={
                **body,
                "challenge": challenge.body["challenge"],
                "signature": base64.b64encode(signature).decode(),
            },
        )
        if renewed.status != 201:
            return False
        self.token = renewed.body["access_token"]
        self.renewals += 1
        return True

    def _exchange(self, method, path, *, headers=None, **kwargs) -> Reply:
        """One request, retried with backoff while the link fails or the server is busy."""
        delay = 0.5
        for _attempt in range(self.max_attempts):
            self.attempts += 1
            try:
                reply = self.transport.send(
                    method,
                    path,
                    headers={**(headers or {}), "Authorization": f"Bearer {self.token}"},
                    **kwargs,
                )
            except LinkDown:
                reply = None
            if reply is not None and reply.status == 401:
                try:
                    if self._renew():
                        continue  # a fresh token: the same request again
                except LinkDown:
                    reply = None  # could not ask yet: back off and try again
            if reply is not None and reply.status < 500 and reply.status != 429:
                return reply
            self.sleep(delay * (0.5 + self._random.random()))  # backoff with jitter
            delay = min(delay * 2, 60)
        raise LinkDown(f"{method} {path}: no answer after {self.max_attempts} attempts")
