"""The dependency direction of STYLE.md, checked by walking imports with `ast`: every module
has a layer (LAYERS) and imports only from its own layer or lower ones; only the HTTP layer
imports Flask or werkzeug, and nothing else imports the HTTP layer; `server/__init__.py`
stays empty so `import server.models` does not load Flask; every module opens with a
docstring."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("server", "schemas", "checklists", "sync", "media")

#: The layers of STYLE.md, lowest first: (name, places). A module may import from its own
#: layer and the layers before it. A place ending in "/" is a package (every module under
#: it), any other a single module; the longest place that matches puts a module in its layer.
#: Some places do not exist yet: they are kept for modules other branches are adding.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0 ground",  # the documents, and the small modules everything may use
        (
            "server/__init__.py",
            "server/models/",
            "server/errors.py",
            "server/actor.py",
            "server/clock.py",
            "server/json_encoding.py",
            "server/geo.py",
            "server/config.py",
            "server/db.py",
            "server/logs.py",
            "server/sequence.py",
        ),
    ),
    (
        "1 domain",
        (
            "checklists/",
            "media/",
            "server/services/",
        ),
    ),
    ("2 sync", ("sync/",)),
    (
        "3 top",  # HTTP, command line, jobs, and the modules that wire the service
        (
            # Request and response bodies: they describe HTTP, and document what the layers
            # below accept (a push handler's data schema, the feed's page limits).
            "schemas/",
            "server/api/",
            "server/app.py",
            "server/backup/",
            "server/cli.py",
            "server/gunicorn_conf.py",
            "server/jobs/",
            "server/web/",
            "server/wiring.py",
        ),
    ),
)

#: Imports against the layer order that wait for someone else's change, as (module path,
#: imported module), each with its reason. An entry whose import is gone fails the test, so
#: it leaves with the fix.
ALLOWED: frozenset[tuple[str, str]] = frozenset()

#: Only the HTTP layer imports these, and only it is imported from them.
HTTP_LAYER = ("server/api/", "server/web/", "server/app.py", "server/cli.py")
WEB_MODULES = {"flask", "flask_smorest", "werkzeug"}


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _file_of(module: str) -> Path | None:
    """The project file of a dotted module name; None for modules from elsewhere."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, function-local ones too;
    `from package import module` names the module."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = path.relative_to(ROOT).parent.parts
                package = package[: len(package) - node.level + 1]
                base = ".".join((*package, *([node.module] if node.module else [])))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if _file_of(sub) else base


def _layer(rel: str) -> int | None:
    """The layer of a module path: the one holding the longest place that matches."""
    best, found = -1, None
    for number, (_name, places) in enumerate(LAYERS):
        for place in places:
            matches = rel.startswith(place) if place.endswith("/") else rel == place
            if matches and len(place) > best:
                best, found = len(place), number
    return found


def _upward_imports() -> Iterator[tuple[str, int, str, int, int]]:
    """(module, line, imported module, its layer, imported layer) of imports that go up."""
    for path in _modules():
        rel = _rel(path)
        own = _layer(rel)
        for line, module in _imports(path):
            target = _file_of(module)
            if own is None or target is None:
                continue
            theirs = _layer(_rel(target))
            if theirs is not None and theirs > own:
                yield rel, line, module, own, theirs


def test_every_module_has_a_layer():
    assert [_rel(p) for p in _modules() if _layer(_rel(p)) is None] == []


def test_imports_go_down_the_layers():
    violations = [
        f"{rel}:{line} ({LAYERS[own][0]}) imports {module} ({LAYERS[theirs][0]})"
        for rel, line, module, own, theirs in sorted(set(_upward_imports()))
        if (rel, module) not in ALLOWED
    ]
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_every_allowed_exception_is_still_needed():
    found = {(rel, module) for rel, _line, module, _own, _theirs in _upward_imports()}
    assert sorted(ALLOWED - found) == []


def _in_http_layer(rel: str) -> bool:
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in HTTP_LAYER)


def test_only_the_http_layer_imports_flask():
    offenders = [
        f"{_rel(path)}:{line} imports {module}"
        for path in _modules()
        if not _in_http_layer(_rel(path))
        for line, module in _imports(path)
        if module.split(".")[0] in WEB_MODULES
    ]
    assert offenders == []


def test_nothing_outside_the_http_layer_imports_it():
    # Jobs share the top layer with the API but must not load Flask through it.
    offenders = [
        f"{_rel(path)}:{line} imports {module}"
        for path in _modules()
        if not _in_http_layer(_rel(path))
        for line, module in _imports(path)
        if _file_of(module) and _in_http_layer(_rel(_file_of(module)))
    ]
    assert offenders == []


def test_server_package_init_is_empty():
    assert (ROOT / "server" / "__init__.py").read_text().strip() == ""


def test_every_module_opens_with_a_docstring():
    missing = [
        _rel(path)
        for path in _modules()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []
