"""The OpenAPI document generates a typed client: openapi-typescript (pinned in tests/api/js)
turns `/openapi.json` into TypeScript, and no request or response body of ours comes out
untyped (`unknown`, `Record<string, never>`, `{ [key: string]: unknown }`)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"
GENERATOR = JS / "node_modules" / ".bin" / "openapi-typescript"

#: `"<media type>": <type>;` inside an operation's requestBody or responses content.
BODY = re.compile(r'^\s*"(?P<media>[\w.+*-]+/[\w.+*-]+)": (?P<type>.+?);?$')
UNTYPED = ("unknown", "Record<string, never>", "{ [key: string]: unknown }", "{")

pytestmark = pytest.mark.slow


def _operations_block(source: str) -> str:
    start = source.index("export interface operations {")
    return source[start:]


def test_every_body_is_typed_in_the_generated_client(client, tmp_path):
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(client.get("/openapi.json").get_json()))
    out = tmp_path / "api.d.ts"
    subprocess.run(
        ["node", str(GENERATOR), str(document), "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    untyped, seen = [], 0
    operation = None
    for line in _operations_block(out.read_text()).splitlines():
        if re.match(r"^    [\w]+: \{$", line):
            operation = line.strip().removesuffix(": {")
        match = BODY.match(line)
        seen += bool(match)
        if match and match["type"].strip() in UNTYPED:
            untyped.append(f"{operation}: {match['media']} is {match['type']}")
    assert seen > 40, "the generated client's bodies were not found: has its layout changed?"
    assert not untyped, "\n".join(untyped)
