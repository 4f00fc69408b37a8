"""Read the reviewed checklist data files into plain objects, or fail loudly.

Template files (`data/CS.yaml`, ...) hold one checklist each, named after its code::

    code: CS                          # 2-4 capitals, equal to the file name
    title / description: {zh-CN: ..., en: ...}
    sources: {M13: 《...》, ...}       # short source ID -> full title
    items:
      - code: CS-09                   # template code, '-', two digits; unique
        text: {zh-CN: ..., en: ...}
        answer: numeric               # yes_no_na | numeric | text | choice
        unit: "%VOL"                  # numeric only; one of template.UNIT_RANGES
        pass_rule: {min: 19.5, max: 23.5, source: GB46768 5.9.1}   # numeric only; inclusive
        choices: [{code: I, text: {...}, passes: true}, ...]       # choice only
        allow_na: false               # may the answer be "na"? default false
        note: {zh-CN: ..., en: ...}   # optional guidance shown with the item
        legal_basis: [GB46768 5.9.1, GB30871 6.4]
        major_hazard: {criterion: M10 Art.13(2), condition: {zh-CN: ..., en: ...}}  # or absent
        photo_required_on_fail: true
        verification: V               # V, S, I or a mix such as V/S (docs/domain.md)

Citations. Every legal-basis entry, pass-rule source and major-hazard criterion is one or more
';'-separated citations, each starting with a source ID that must be a key of the same file's
`sources`. Free-standing regulation strings are not accepted: a short ID keeps the data
searchable by source and catches a split like "GB46768 5.8.6" / "5.8.7" (an unquoted comma in
a YAML flow list). Documents our domain research named without an ID got one: CSHB (the 2020
confined-space handbook), DUST (工贸企业粉尘防爆安全规定), GB3608, GBZ2-1 (GBZ 2.1), GB50493, and
SEED002 / SEED004 for the local seed plans.

Modelling choices for the rows of the research tables (docs/domain.md, "Checklists") that are
not a single yes/no or number:
- "B" and "B/NA": both are `yes_no_na`; "na" is accepted only where `allow_na: true`, which the
  files set for the "B/NA" rows and for items whose own text limits them to a situation
  (outsourced entry, special-level hot work, ...), each marked "NA (I)" in a comment.
- Two quantities (FH-05 rail height + toe board, HW-11 cylinder spacing + distance to flame,
  HW-12 distance + grounding): `numeric` on the main quantity; the second requirement is in
  `note` and is not evaluated by `checklists.answer`.
- HW-08 (≤0.5 %VOL if the gas's LEL ≥4 %, else ≤0.2 %VOL): `numeric` with the stricter 0.2;
  the other case is in `note`, because the reading does not carry the gas's LEL.
- FH-01 height + class Ⅰ–Ⅳ: `choice` of the class, each option passing; the height bands of
  GB30871 8.1 are in the option texts.
- `text` items (HW-02) record a fact and never fail.
- A major-hazard `condition` is text for people; e.g. CS-01 is major only when CS-02 also
  fails. Combining items into a major finding is left to the hazard service.

`data/gas_limits.yaml` is documented in its own header and `checklists.gas_schema`.

Any problem raises `ChecklistFileError`, one line per problem, e.g.
`CS.yaml: item CS-09: numeric answer needs a unit` or, when the code itself is missing,
`CS.yaml: item #9: code: Missing data for required field.` (1-based position).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

from checklists.gas_schema import GasLimitsSchema
from checklists.schema import TemplateSchema
from checklists.template import FORMAT, ChecklistTemplate, GasLimits

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
"""Where the shipped, reviewed data files live."""

GAS_LIMITS_FILE = "gas_limits.yaml"
"""The gas-limits file in a data directory."""

NOT_TEMPLATES = frozenset({GAS_LIMITS_FILE, "industries.yaml", "entry_rules.yaml"})
"""Files of a data directory that are not templates; every other `*.yaml` there is one."""

EDITIONS_DIR = "editions"
"""Where earlier editions are kept, as `<code>.<edition>.yaml`, exactly as they were published."""


class ChecklistFileError(ValueError):
    """A data file is unreadable or invalid; the message has one line per problem."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        self.file = file
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{file}: {problem}" for problem in self.problems))


def load_template(
    path: str | PathLike[str], *, gas_limits: GasLimits | None = None, archived: bool = False
) -> ChecklistTemplate:
    """Read and validate one template file.

    A file being edited is format 2: every fact carries its verification tag, and the gases
    of `gas_limits` (default: the shipped file) are embedded. Format 1 is read only for an
    `archived` edition, which must load exactly as it was published."""
    path = Path(path)
    raw = _read_mapping(path)
    # Checked first: a copied file with the old code would otherwise report every item's prefix.
    code = raw.get("code")
    stem = path.name.split(".")[0]
    if isinstance(code, str) and code != stem:
        raise ChecklistFileError(path.name, [f"code: {code!r} does not match the file name"])
    if raw.get("format", 1) != FORMAT and not archived:
        raise ChecklistFileError(
            path.name,
            [f"format: must be {FORMAT} (every fact tagged); format 1 is read only as an edition"],
        )
    if raw.get("format", 1) == FORMAT:
        if "gases" in raw:
            raise ChecklistFileError(path.name, ["gases: filled in from gas_limits.yaml"])
        limits = gas_limits if gas_limits is not None else load_gas_limits()
        raw = {**raw, "gases": limits.embedded()}
    return _load(TemplateSchema(), raw, path.name, _item_labels(raw))


def load_templates(directory: str | PathLike[str] | None = None) -> dict[str, ChecklistTemplate]:
    """Read every template in `directory` (default: the shipped data), keyed by code."""
    directory = DATA_DIR if directory is None else Path(directory)
    paths = sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_TEMPLATES)
    if not paths:
        raise ChecklistFileError(str(directory), ["no template files (*.yaml) found"])
    gas_limits = (
        load_gas_limits(directory / GAS_LIMITS_FILE)
        if (directory / GAS_LIMITS_FILE).is_file()
        else None
    )
    templates = {}
    for path in paths:
        template = load_template(path, gas_limits=gas_limits)
        templates[template.code] = template
        log.debug(
            "loaded checklist %s (%d items) from %s", template.code, len(template.items), path
        )
    return templates


def load_editions(
    directory: str | PathLike[str] | None = None,
) -> dict[str, list[ChecklistTemplate]]:
    """Every edition of every template, oldest first: the archived ones (`editions/`), then
    the current file, whose `edition` must follow the last archived one."""
    directory = DATA_DIR if directory is None else Path(directory)
    current = load_templates(directory)
    history: dict[str, list[ChecklistTemplate]] = {}
    for code, template in sorted(current.items()):
        archived = sorted(
            (directory / EDITIONS_DIR).glob(f"{code}.*.yaml"),
            key=lambda p: int(p.name.split(".")[1]),
        )
        editions = []
        for number, path in enumerate(archived, 1):
            edition = load_template(path, archived=True)
            if path.name != f"{code}.{number}.yaml" or edition.edition not in (1, number):
                raise ChecklistFileError(
                    path.name, [f"editions of {code} must be 1, 2, ... in order"]
                )
            editions.append(edition)
        if template.edition != len(editions) + 1:
            raise ChecklistFileError(
                f"{code}.yaml",
                [f"edition: {template.edition} must follow the archived {len(editions)}"],
            )
        history[code] = [*editions, template]
    return history


def load_gas_limits(path: str | PathLike[str] | None = None) -> GasLimits:
    """Read and validate the gas-test rules (default: the shipped `gas_limits.yaml`)."""
    path = DATA_DIR / GAS_LIMITS_FILE if path is None else Path(path)
    return _load(GasLimitsSchema(), _read_mapping(path), path.name, {})


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ChecklistFileError(path.name, [f"cannot read: {error}"]) from error
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise ChecklistFileError(path.name, [f"not valid YAML: {detail}"]) from error
    if not isinstance(raw, dict):
        raise ChecklistFileError(path.name, ["the top level must be a mapping"])
    return raw


def _item_labels(raw: dict[str, Any]) -> dict[int, str]:
    """How each raw item is named in messages: its code, else its 1-based position."""
    items = raw.get("items")
    if not isinstance(items, list):
        return {}
    labels = {}
    for index, item in enumerate(items):
        code = item.get("code") if isinstance(item, dict) else None
        labels[index] = code if isinstance(code, str) and code.strip() else f"#{index + 1}"
    return labels


def _load(schema: Schema, raw: dict[str, Any], file: str, item_labels: dict[int, str]) -> Any:
    try:
        return schema.load(raw)
    except ValidationError as error:
        problems = [_describe(path, message, item_labels) for path, message in _flatten(error)]
        raise ChecklistFileError(file, problems) from error


def _flatten(error: ValidationError) -> Iterator[tuple[tuple[Any, ...], str]]:
    def walk(messages: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
        if isinstance(messages, dict):
            for key, sub in messages.items():
                yield from walk(sub, path if key == "_schema" else (*path, key))
        elif isinstance(messages, list):
            for sub in messages:
                yield from walk(sub, path)
        else:
            yield path, str(messages)

    yield from walk(error.messages, ())


def _describe(path: tuple[Any, ...], message: str, item_labels: dict[int, str]) -> str:
    prefix = ""
    if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
        prefix = f"item {item_labels.get(path[1], f'#{path[1] + 1}')}: "
        path = path[2:]
    field = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)
    return f"{prefix}{field.lstrip('.')}: {message}" if field else f"{prefix}{message}"
