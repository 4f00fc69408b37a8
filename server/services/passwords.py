"""Password hashing with Argon2id (argon2-cffi); verification reads the parameters from the hash.

The cost profile is a setting: production uses RFC 9106's low-memory profile; the test suite
uses the cheapest one so that creating users does not dominate its run time.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

DEFAULT_PROFILE = "RFC_9106_LOW_MEMORY"


@lru_cache(maxsize=4)
def _hasher(profile: str) -> PasswordHasher:
    params = getattr(profiles, profile, None)
    if params is None:
        raise ValueError(f"unknown Argon2 profile {profile!r}")
    return PasswordHasher.from_parameters(params)


def hash_password(password: str, profile: str = DEFAULT_PROFILE) -> str:
    """An Argon2id hash of `password` (salted, self-describing)."""
    return _hasher(profile).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong password or a damaged hash."""
    try:
        return _hasher(DEFAULT_PROFILE).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


#: Verified against when the username is unknown, so that both cases take the same time.
_DUMMY_HASH = None


def burn_verification_time() -> None:
    """Spend the time of one verification (unknown username: do not reveal it by speed)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-password")
    verify_password(_DUMMY_HASH, "still-not-a-password")
