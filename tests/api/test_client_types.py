"""The OpenAPI document generates a typed client: openapi-typescript (pinned in tests/api/js)
turns `/openapi.json` into TypeScript, and nothing a client sends or reads comes out untyped:
no body, no field at any depth, no header is `unknown` or `Record<string, never>`, and every
answer with a body says what its body is."""

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
#: A type that says nothing, anywhere in a line of TypeScript.
LOOSE = re.compile(r"\bunknown\b|Record<string, never>")
#: The one place the generator writes `unknown` on purpose: "and any other header".
OTHER_HEADERS = "[name: string]: unknown;"
#: Statuses that answer with a body (206: a byte range), but to HEAD.
WITH_BODY = ("200", "206")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(app, tmp_path_factory) -> tuple[dict, str]:
    """The document, and the TypeScript openapi-typescript writes from it."""
    document = app.test_client().get("/openapi.json").get_json()
    folder = tmp_path_factory.mktemp("client")
    (folder / "openapi.json").write_text(json.dumps(document))
    out = folder / "api.d.ts"
    subprocess.run(
        ["node", str(GENERATOR), str(folder / "openapi.json"), "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return document, out.read_text()


def _block(source: str, name: str) -> list[str]:
    start = source.index(f"export interface {name} {{")
    end = source.index("\n}\n", start)
    return source[start:end].splitlines()


def test_every_body_is_typed_in_the_generated_client(generated):
    _, source = generated
    untyped, seen = [], 0
    operation = None
    for line in _block(source, "operations"):
        if re.match(r"^    [\w]+: \{$", line):
            operation = line.strip().removesuffix(": {")
        match = BODY.match(line)
        seen += bool(match)
        if match and match["type"].strip() in UNTYPED:
            untyped.append(f"{operation}: {match['media']} is {match['type']}")
    assert seen > 40, "the generated client's bodies were not found: has its layout changed?"
    assert not untyped, "\n".join(untyped)


def test_no_field_or_header_is_untyped_at_any_depth(generated):
    _, source = generated
    loose = []
    for block in ("components", "operations"):
        owner = None
        for number, line in enumerate(_block(source, block)):
            if re.match(r"^        [\w\"-]+\??: ", line):
                owner = line.strip().split(":")[0]
            code = line.strip()
            if code.startswith(("/**", "*")) or code == OTHER_HEADERS:
                continue
            if LOOSE.search(code):
                loose.append(f"{block} {owner} (line {number}): {code}")
    assert not loose, "\n".join(loose)


def test_every_answer_with_a_body_documents_it(generated):
    document, _ = generated
    bare = [
        f"{method.upper()} {path} {status}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method not in ("parameters", "head")
        for status, response in operation["responses"].items()
        if status in WITH_BODY and "$ref" not in response and not response.get("content")
    ]
    assert not bare, "answers with a body whose content is not documented:\n" + "\n".join(bare)
