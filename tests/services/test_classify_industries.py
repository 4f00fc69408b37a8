"""Enterprises registered before the controlled industry list get the code their free-text
industry names exactly (and its regime), audited; the rest are left for an admin."""

from __future__ import annotations

from checklists.regime import industries
from server.clock import utcnow
from server.models.audit_event import AuditEvent
from server.services.identity import classify_industries
from tests.factories import EnterpriseFactory


def test_only_exact_names_and_codes_match():
    listed = industries()
    assert listed.match("化学原料和化学制品制造业").code == "C26"
    assert listed.match(" 非金属矿物制品业 ").code == "C30"  # gloss （建材） left out
    assert listed.match("non-metallic mineral products (building materials)").code == "C30"
    assert listed.match("e47").code == "E47"
    assert listed.match("机械") is None  # never guessed at
    assert listed.match("") is None and listed.match(None) is None


def test_legacy_enterprises_are_classified_once_and_audited(db, jobs):
    chemical = EnterpriseFactory(industry="化学原料和化学制品制造业")
    overridden = EnterpriseFactory(
        industry="房屋建筑业",
        regime="industrial",
        regime_override={"regime": "industrial", "reason": "只做厂房维修", "at": utcnow()},
    )
    vague = EnterpriseFactory(industry="机械")
    coded = EnterpriseFactory(industry="随便写的", industry_code="C34", regime="industrial")

    classified, left = classify_industries(now=utcnow())
    assert classified == 2
    assert [e.id for e in left] == [vague.id]
    chemical.reload(), overridden.reload(), coded.reload()
    assert (chemical.industry_code, chemical.regime) == ("C26", "hazchem")
    # An admin's override of the regime stands; the code is still recorded.
    assert (overridden.industry_code, overridden.regime) == ("E47", "industrial")
    assert (coded.industry_code, coded.version) == ("C34", 1)

    again, still = classify_industries(now=utcnow())
    assert again == 0 and [e.id for e in still] == [vague.id]
    jobs()
    events = AuditEvent.objects(action="enterprise.update")
    assert sorted(e.object["id"] for e in events) == sorted([str(chemical.id), str(overridden.id)])
