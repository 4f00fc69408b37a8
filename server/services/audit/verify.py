"""The stand-alone verifier of an audit export: needs the export directory and the public key,
no server and no database (neither pymongo nor mongoengine is imported).

    python -m server.services.audit.verify EXPORT_DIR --public-key FILE [--checkpoint FILE]

(`--public-key` again for each earlier key after a key rotation: a signature names its key.)

Checks, each failure one line of output:
- every event's hash matches its content (a modified event);
- numbers run on by one from the first exported event, and each event's `prev` is the hash
  of the one before (a deleted, inserted or reordered event, or one rewritten with a fresh
  hash, breaks this);
- every signature verifies with the public key and matches the exported event it names, and
  the export reaches the highest signed head it contains (a tail cut off after a signed head
  leaves that signature without its event);
- `--checkpoint`: signed heads kept elsewhere (an earlier export's `signatures.jsonl`, the
  `audit head signed` log lines) must be matched too: deleting a tail *with* its signatures
  from the database is caught only this way;
- every photo an event names is in the export and hashes to its name (when photos were
  exported).
A range that starts after event 1 cannot check the link of its first event to the unexported
one before it: the output says so. Exit status 0 when intact, 1 when not, 2 when the input
cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from server.services.audit import canonical, signing

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(directory: Path, public, checkpoints: list[dict] = ()) -> Report:
    """Check an export directory against an Ed25519 public key (or a list of them)."""
    public = {signing.key_id(k): k for k in (public if isinstance(public, list) else [public])}
    report = Report()
    directory = Path(directory)
    manifest = _manifest(directory, report)
    lines = _lines(directory / "events.jsonl", report)
    # Without a manifest, the chain is the first event's (every other one must agree).
    chain = manifest.get("chain") or (lines[0][1].get("chain") if lines else None)
    events = _events(lines, chain, manifest, report)
    last = max(events) if events else 0
    signatures = [
        (f"signature of n={h.get('n')} (signatures.jsonl line {line})", h)
        for line, h in _lines(directory / "signatures.jsonl", report)
    ]
    signed = _signatures(signatures, events, chain, public, report)
    # A checkpoint past a range export's end is not a gap; past the head it is.
    end = manifest.get("to") if manifest.get("to") != manifest.get("head") else None
    for head in checkpoints:
        if head.get("chain") != chain:
            continue
        if end is not None and isinstance(head.get("n"), int) and head["n"] > end:
            report.notes.append(f"checkpoint of n={head['n']}: after the exported range")
            continue
        signed += _signatures(
            [(f"checkpoint of n={head.get('n')}", head)], events, chain, public, report
        )
    if not signed:
        report.notes.append("no signed head in this export: nothing vouches for these events")
    elif max(signed) < last:
        report.notes.append(
            f"events {max(signed) + 1}..{last} follow the last signed head (n={max(signed)}): "
            "no signature vouches for them yet"
        )
    photos = _photos(directory, events, manifest, report)
    first = min(events) if events else 0
    report.summary = (
        f"chain {chain}: {len(events)} events ({first}..{last}), "
        f"{len(signed)} signed heads checked, {photos} photos checked"
    )
    return report


def _manifest(directory: Path, report: Report) -> dict:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.problems.append(f"manifest.json cannot be read: {exc}")
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _lines(path: Path, report: Report) -> list[tuple[int, dict]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        report.problems.append(f"{path.name} cannot be read: {exc}")
        return []
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            report.problems.append(f"{path.name} line {number}: not JSON")
            continue
        if isinstance(value, dict):
            found.append((number, value))
        else:
            report.problems.append(f"{path.name} line {number}: not a JSON object")
    return found


def _events(lines, chain, manifest: dict, report: Report) -> dict[int, dict]:
    """Hashes, numbering and links of the lines of events.jsonl; the events by number."""
    events: dict[int, dict] = {}
    expected, prev = None, None
    for line, e in lines:
        n = e.get("n")
        if not isinstance(n, int) or isinstance(n, bool):
            report.problems.append(f"events.jsonl line {line}: no event number")
            continue
        where = f"event n={n} (events.jsonl line {line})"
        if e.get("chain") != chain:
            report.problems.append(f"{where}: belongs to chain {e.get('chain')}, not {chain}")
        if canonical.event_hash(e) != e.get("hash"):
            report.problems.append(f"{where}: content does not match its hash (modified)")
        if expected is None:
            if n == 1 and e.get("prev") is not None:
                report.problems.append(f"{where}: the first event of a chain links to nothing")
            elif n > 1:
                report.notes.append(
                    f"the export starts at n={n}: its link to event {n - 1} (not exported) "
                    "is not checked"
                )
        elif n != expected:
            report.problems.append(
                f"{where}: expected n={expected} (an event missing, inserted or out of order)"
            )
        elif e.get("prev") != prev:
            report.problems.append(f"{where}: does not link to event {n - 1} (prev differs)")
        if n in events:
            report.problems.append(f"{where}: a second event with this number")
        events.setdefault(n, e)
        expected, prev = n + 1, e.get("hash")
    if manifest:
        first, last = (min(events), max(events)) if events else (None, None)
        if manifest.get("from") != first or manifest.get("to") != last:
            report.problems.append(
                f"the manifest says events {manifest.get('from')}..{manifest.get('to')}, "
                f"the export holds {first}..{last}"
            )
    return events


def _signatures(heads, events, chain, public: dict, report: Report) -> list[int]:
    """Check signed heads (`(where, head)` pairs) against the events and the public keys (by
    key id); the numbers of those that hold."""
    good = []
    for where, head in heads:
        n = head.get("n")
        if not isinstance(n, int) or isinstance(n, bool):
            report.problems.append(f"{where}: no event number")
            continue
        if head.get("chain") != chain:
            report.problems.append(f"{where}: for chain {head.get('chain')}, not {chain}")
            continue
        key = public.get(head.get("key_id"))
        if key is None:
            known = ", ".join(sorted(public))
            report.problems.append(f"{where}: made with key {head.get('key_id')}, not {known}")
            continue
        if not signing.verify_head(key, head):
            report.problems.append(f"{where}: the signature does not verify (forged or altered)")
            continue
        event = events.get(n)
        if event is None:
            if events and n < min(events):
                report.notes.append(f"{where}: before the exported range, not checked")
                continue
            report.problems.append(
                f"{where}: event n={n} is not in the export (removed, or the tail was cut off)"
            )
        elif event.get("hash") != head.get("hash") or canonical.event_hash(event) != head.get(
            "hash"
        ):
            report.problems.append(f"{where}: event n={n} is not the event that was signed")
        else:
            good.append(n)
    return good


def _photos(directory: Path, events: dict[int, dict], manifest: dict, report: Report) -> int:
    """Every photo the events name is exported and hashes to its name; how many were checked."""
    named: dict[str, int] = {}
    for n in sorted(events):
        for sha256 in events[n].get("photos") or ():
            named.setdefault(sha256, n)
    if not manifest.get("photos"):
        if named:
            report.notes.append(f"photos were not exported: {len(named)} named photos unchecked")
        return 0
    checked = 0
    for sha256, n in named.items():
        if not isinstance(sha256, str) or not SHA256.match(sha256):
            report.problems.append(f"event n={n}: {sha256!r} is not a photo hash")
            continue
        path = directory / "photos" / sha256
        try:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while piece := f.read(1 << 20):
                    digest.update(piece)
        except OSError:
            report.problems.append(f"photo {sha256} (event n={n}) is not in the export")
            continue
        checked += 1
        if digest.hexdigest() != sha256:
            report.problems.append(
                f"photo {sha256} (event n={n}): its bytes hash to {digest.hexdigest()} (replaced)"
            )
    return checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.services.audit.verify",
        description="Verify an audit export offline: hashes, links, signatures, photo bytes.",
    )
    parser.add_argument("export_dir", type=Path, help="directory written by `audit-export`")
    parser.add_argument(
        "--public-key",
        type=Path,
        action="append",
        required=True,
        help="the Ed25519 public key (PEM, or base64 raw as GET /api/v1/audit/public-key gives); "
        "repeat it for the keys used before a rotation",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="JSON lines of signed heads kept elsewhere that the export must match (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        public = [signing.load_public_key(path.read_bytes()) for path in args.public_key]
        checkpoints = read_checkpoints(args.checkpoint)
    except (OSError, ValueError) as exc:
        print(f"cannot read the input: {exc}", file=sys.stderr)
        return 2
    if not args.export_dir.is_dir():
        print(f"cannot read the input: {args.export_dir} is not a directory", file=sys.stderr)
        return 2
    report = verify(args.export_dir, public, checkpoints)
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    for note in report.notes:
        print(f"note: {note}")
    if report.intact:
        print(f"INTACT {report.summary}")
        return 0
    print(f"NOT INTACT ({len(report.problems)} problems) {report.summary}")
    return 1


def read_checkpoints(paths: list[Path]) -> list[dict]:
    """Signed heads from JSON-lines files: signature lines (an earlier export's
    `signatures.jsonl`) or the server's `audit head signed` log lines; ValueError if unreadable."""
    heads = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                raise ValueError(f"{path} line {number} is not JSON") from None
            if isinstance(value, dict) and isinstance(value.get("signed_head"), dict):
                value = value["signed_head"]
            if not isinstance(value, dict):
                raise ValueError(f"{path} line {number} is not a signed head")
            heads.append(value)
    return heads


if __name__ == "__main__":
    sys.exit(main())
