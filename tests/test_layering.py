"""The dependency direction of STYLE.md, checked by walking imports with `ast`:
only the HTTP layer (server/api, server/app.py, server/cli.py) imports Flask or werkzeug, and
`server/__init__.py` stays empty so `import server.models` does not load Flask."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["server", "schemas", "checklists", "sync", "media"]
HTTP_LAYER = {"server/app.py", "server/cli.py"}
WEB_MODULES = {"flask", "flask_smorest", "werkzeug"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules():
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_only_the_http_layer_imports_flask():
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("server/api/") or rel in HTTP_LAYER:
            continue
        if _imports(path) & WEB_MODULES:
            offenders.append(rel)
    assert offenders == []


def test_domain_packages_do_not_import_the_http_layer():
    offenders = []
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("server/api/") or rel in HTTP_LAYER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("server.api", "server.app", "server.cli")
            ):
                offenders.append(rel)
    assert offenders == []


def test_server_package_init_is_empty():
    assert (ROOT / "server" / "__init__.py").read_text().strip() == ""


def test_every_module_opens_with_a_docstring():
    missing = [
        path.relative_to(ROOT).as_posix()
        for path in _modules()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []
