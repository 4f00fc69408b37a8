"""Feed entries keep each document's phone copy as the rules made it then (sync.collections):
a change of those rules must come with a new COPY_EDITION, or entries written before would
keep serving copies made under the old rules (a field newly withheld from firms, say)."""

from __future__ import annotations

import hashlib
import inspect

from server.services import inspections
from server.services.hazards import lifecycle
from sync import collections
from sync.collections import COPY_EDITION, HIDDEN, REGISTRY

#: The fingerprint of the rules each edition was made under. When this test fails: bump
#: COPY_EDITION in sync/collections.py and record the new fingerprint under it.
EDITIONS = {1: "4b8cb733"}


def _source(fn) -> str:
    return inspect.getsource(fn) if fn is not None else ""


def fingerprint() -> str:
    rules = [
        sorted(HIDDEN),
        inspect.getsource(collections.SyncedCollection._copy),
        sorted(inspections.HIDDEN_FROM_ENTERPRISES),
        sorted(lifecycle.HIDDEN_FROM_ENTERPRISES),
    ]
    for synced in REGISTRY:
        rules.append(
            (
                synced.name,
                sorted(synced.omit),
                _source(synced.extra),
                _source(synced.enterprise_copy),
            )
        )
    return hashlib.sha256(repr(rules).encode()).hexdigest()[:8]


def test_the_rules_of_phone_copies_are_those_of_their_edition():
    assert fingerprint() == EDITIONS.get(COPY_EDITION), (
        f"the rules that shape phone copies changed (fingerprint {fingerprint()}): bump "
        "COPY_EDITION in sync/collections.py and record the fingerprint in EDITIONS"
    )
