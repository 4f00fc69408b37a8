"""The spaces tests' world (a jurisdiction, enterprises A and B, a user of every role)."""

from tests.spaces.conftest import world  # noqa: F401
