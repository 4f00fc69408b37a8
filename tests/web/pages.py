"""Reading the server-rendered pages in tests: the hidden fields of a form, a login."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


def hidden(html: str, name: str) -> str:
    """The value of the first hidden field `name` on the page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name} on the page"
    return found.group(1)


def log_in(client, user, next_path: str = "/"):
    """Log in through the form, CSRF token and all; the response of the form's POST."""
    page = client.get(f"/login?next={next_path}").get_data(as_text=True)
    return client.post(
        "/login",
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "next": next_path,
            "username": user.username,
            "password": PASSWORD,
        },
    )
