"""What changed since the last review: a correction is read against the inspection it corrects,
item by item, beside the reasons that inspection was returned with.

The original is never rewritten (sync.policy): a correction is a new inspection whose
`corrects` names it, so "what changed" is the difference of two immutable records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What of an answer a reviewer compares.
COMPARED = ("value", "note", "photos")


@dataclass(frozen=True)
class ItemChange:
    item_code: str
    before: dict | None
    after: dict | None
    #: Why the corrected inspection's review returned this item (None: not returned).
    returned_for: str | None = None


@dataclass(frozen=True)
class Changes:
    #: The inspection it corrects (None: a first record, nothing to compare).
    corrects: str | None = None
    #: The verdict on the corrected one and its reasons by item.
    previous_verdict: str | None = None
    previous_reasons: dict[str, str] = field(default_factory=dict)
    items: list[ItemChange] = field(default_factory=list)
    #: Items the previous review returned that the correction left as they were.
    returned_unchanged: list[str] = field(default_factory=list)


def since_last_review(inspection: dict, corrected: dict | None) -> Changes:
    """How `inspection` differs from `corrected`, the one it corrects (raw documents)."""
    if corrected is None:
        return Changes(corrects=inspection.get("corrects"))
    review = corrected.get("review") or {}
    reasons = dict(review.get("reasons") or {})
    before_answers = corrected.get("answers") or {}
    after_answers = inspection.get("answers") or {}
    items = []
    for code in sorted(before_answers.keys() | after_answers.keys()):
        before, after = before_answers.get(code), after_answers.get(code)
        if _compared(before) != _compared(after):
            items.append(ItemChange(code, before, after, reasons.get(code)))
    changed = {i.item_code for i in items}
    return Changes(
        corrects=corrected["_id"],
        previous_verdict=review.get("verdict"),
        previous_reasons=reasons,
        items=items,
        returned_unchanged=sorted(code for code in reasons if code not in changed),
    )


def _compared(answer: dict | None):
    if answer is None:
        return None
    return tuple(tuple(answer.get(k) or ()) if k == "photos" else answer.get(k) for k in COMPARED)
