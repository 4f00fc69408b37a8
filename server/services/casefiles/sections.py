"""The parts both case files share, as blocks of a media.documents document: who may read a
case file, facts as label–value lines, the photos with their watermark data, the orders, and
the audit trail with each event's chain position and the verifier's result on their range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from media import documents
from server.actor import Actor, Role
from server.errors import Forbidden
from server.models.order import Order
from server.services.casefiles import evidence
from server.services.casefiles.trail import Trail
from server.services.casefiles.wording import name, text
from server.services.hazards.timings import CHINA

#: Case files are for auditors: admins and the supervisors of the object's jurisdiction (the
#: object's own audience decides the jurisdiction; other roles who see it get 403).
READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
#: Widths (mm) of a photo and of the small print of hashes.
PHOTO_W, SMALL = 90.0, 7.5


def require_reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise Forbidden("case files are read by supervisors and admins")


def when(moment: datetime | None) -> str:
    """Beijing time to the second (an auditor compares it with the chain's UTC times)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(CHINA)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        # A deadline ends at 24:00 of its day (server.services.hazards.timings): say so.
        return (local - timedelta(days=1)).strftime("%Y-%m-%d 24:00:00")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def case_file(
    kind: str,
    subject: str,
    parts: list[tuple[str, list]],
    people: dict[str, str],
    actor: Actor,
    *,
    now: datetime,
) -> documents.Document:
    """A case file (`kind`: hazard or inspection) of `subject`: who exported it and when,
    then its numbered sections."""
    words = text()
    exported = words["exported"].format(at=when(now), by=people.get(str(actor.user_id), ""))
    return documents.Document(
        title=words[f"{kind}_title"],
        number=words["number"].format(id=subject),
        blocks=(line(exported, size=9), *numbered(parts)),
        date=now,
        subject=subject,
    )


def numbered(parts: list[tuple[str, list]]) -> list:
    """Sections `(key, blocks)` under their numbered titles (一、基本情况 …)."""
    out: list = []
    for numeral, (key, blocks) in zip(text()["numerals"], parts, strict=False):
        title = f"{numeral}、{text()['sections'][key]}"
        out += [documents.Block(title, size=13, align="L", before=6), *blocks]
    return out


def fact(label: str, value) -> documents.Block:
    return documents.Block(f"{text()['labels'][label]}：{value}", indent=4, align="L")


def line(value: str, *, indent: float = 4, size: float = 10.5) -> documents.Block:
    return documents.Block(value, indent=indent, size=size, align="L")


def photos(shown: list[evidence.Evidence], people: dict[str, str], of_name) -> list:
    """Each photo: its review copy (the watermark printed on it) and, under it, what it is
    evidence of, the watermark lines, capture and receive times, position, uploader, hash."""
    labels = text()["labels"]
    blocks: list = []
    for item in shown:
        if item.context is None:
            blocks.append(line(f"{of_name(item.of)}　{labels['missing_photo']}", size=9.5))
            blocks.append(line(f"{labels['sha256']}：{item.sha256}", size=SMALL))
            continue
        c = item.context
        caption = [f"{labels['photo_of']}：{of_name(item.of)}"]
        caption += [f"{labels['watermark']}：{w}" for w in c.watermark]
        caption.append(
            f"{labels['captured']}：{c.captured_local or ''} {c.captured_offset or ''}　"
            f"{labels['received_at']}：{when(c.received_at)}"
        )
        if item.gps_shown and c.gps:
            caption.append(f"{labels['gps']}：{c.gps.latitude:.6f}, {c.gps.longitude:.6f}")
        caption.append(f"{labels['uploader']}：{people.get(str(c.uploader_id), '')}")
        caption.append(f"{labels['sha256']}：{item.sha256}")
        blocks.append(
            documents.Picture(evidence.review_copy(c), width=PHOTO_W, caption=tuple(caption))
        )
    if not blocks:
        blocks.append(line(labels["none"]))
    return blocks


def orders(found: list[dict], hazard_ids: set[str]) -> list:
    """Each order: number, state, dates, service, and its items of these hazards."""
    labels = text()["labels"]
    blocks: list = []
    for order in found:
        number = order.get("number") or name("order_states", order["state"])
        blocks.append(
            line(
                f"{labels['order_number']}：{number}　{labels['order_state']}："
                f"{name('order_states', order['state'])}　{when(order.get('issued_at'))}"
            )
        )
        service = order.get("service")
        if service:
            blocks.append(
                line(
                    f"{labels['service']}：{name('service_kinds', service['kind'])} "
                    f"{when(service['at'])} {service.get('representative') or ''}"
                    f"{service.get('note') or ''}",
                    indent=8,
                )
            )
        for item in order.get("items") or ():
            if item["hazard_id"] in hazard_ids:
                blocks.append(
                    line(
                        f"{item.get('description') or item.get('item_code')}；"
                        f"{labels['measures']}：{item.get('measures', '')}；"
                        f"{labels['term']}：{item.get('term_days', '')}",
                        indent=8,
                    )
                )
        if order.get("pdf"):
            blocks.append(line(f"PDF {labels['sha256']}：{order['pdf']['sha256']}", size=SMALL))
    if not blocks:
        blocks.append(line(labels["none"]))
    return blocks


def orders_of(**query) -> list[dict]:
    """Orders by a raw query, oldest first (the caller checked who reads the case file)."""
    return list(Order._get_collection().find(query).sort("requested_at", 1))


def audit(found: Trail, people: dict[str, str]) -> list:
    """Every event with its chain position, then the verifier's result on their range."""
    labels = text()["labels"]
    if not found.events:
        return [line(labels["no_events"])]
    blocks: list = []
    for e in found.events:
        who = e["actor"].get("user_id")
        actor = people.get(who or "", labels["system"] if e["actor"]["role"] == "system" else "")
        blocks.append(
            line(
                f"{labels['chain_position']} n={e['n']}　{when(e['at'])}　{e['action']}　"
                f"{labels['object']}：{e['object']['kind']} {e['object']['id']}　"
                f"{labels['actor']}：{actor}（{e['actor']['role']}）",
                size=9.5,
            )
        )
        blocks.append(line(f"{labels['hash']}：{e['hash']}", indent=8, size=SMALL))
        blocks.append(line(f"{labels['prev']}：{e['prev'] or '-'}", indent=8, size=SMALL))
    check = found.check
    report = check.report
    values = {
        "chain": check.chain,
        "first": check.first,
        "last": check.last,
        "summary": report.summary,
        "count": len(report.problems),
    }
    verdict = labels["range_intact" if report.intact else "range_broken"].format(**values)
    blocks.append(documents.Block(verdict, size=10.5, align="L", before=4))
    blocks += [line(f"PROBLEM {p}", size=9) for p in report.problems]
    blocks += [line(f"note: {n}", size=9) for n in report.notes]
    signed = (
        labels["range_next_signed"].format(n=check.next_signed)
        if check.next_signed is not None
        else labels["range_unsigned"]
    )
    blocks.append(line(signed, size=9))
    return blocks


def user_ids_of(found: Trail) -> list[str]:
    return [e["actor"].get("user_id") for e in found.events]
