"""`checklists/REVIEW.md` is generated from the data and must not go stale."""

from __future__ import annotations

from checklists.review import REVIEW_FILE, render, unsure_facts


def test_review_md_is_up_to_date():
    assert REVIEW_FILE.read_text(encoding="utf-8") == render(), (
        "checklists/REVIEW.md is stale: run `.venv/bin/python -m checklists.review`"
    )


def test_review_lists_every_unsure_fact_with_what_to_read():
    facts = unsure_facts()
    where = {(f.where, f.field) for f in facts}
    assert ("CS-04", "major_hazard") in where
    assert ("CS-12", "pass_rule") in where
    assert ("gas_limits", "regimes.GB46768.limits.CO.altitude") in where
    assert all(f.what and f.read and ("[M" in f.citation or "UNSURE" in f.citation) for f in facts)
