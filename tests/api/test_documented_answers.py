"""Checklist downloads (every version, both locales, with their regimes and gases), the list of
unsettled facts and an enterprise with a regime override answer what the OpenAPI document
says (tests/api/conformance.py checks each answer). The fuzz test rarely gets this far: it
does not guess checklist codes, nor send a reason an admin would."""

from __future__ import annotations

from server.actor import Role
from tests.api.conformance import conforms
from tests.factories import EnterpriseFactory, UserFactory

CHECKLISTS = "/api/v1/checklists"


def test_checklist_downloads_answer_what_the_document_says(client, auth_headers, published):
    headers = auth_headers(UserFactory(role=Role.ADMIN.value))
    for locale in ("zh-CN", "en"):
        asked = {**headers, "Accept-Language": locale}
        conforms(client.get(CHECKLISTS, headers=asked), "get", CHECKLISTS)
        for code in ("CS", "HW", "FH", "OC"):
            latest = client.get(f"{CHECKLISTS}/{code}", headers=asked)
            assert latest.status_code == 200
            conforms(latest, "get", f"{CHECKLISTS}/{{code}}", code=code)
            for version in ("1", "2"):
                answer = client.get(f"{CHECKLISTS}/{code}/versions/{version}", headers=asked)
                assert answer.status_code == 200
                conforms(
                    answer,
                    "get",
                    f"{CHECKLISTS}/{{code}}/versions/{{version}}",
                    code=code,
                    version=version,
                )
    review = client.get(f"{CHECKLISTS}/review", headers=headers)
    assert review.status_code == 200
    conforms(review, "get", f"{CHECKLISTS}/review")


def test_an_enterprise_with_a_regime_override_answers_what_the_document_says(
    client, auth_headers, db
):
    headers = auth_headers(UserFactory(role=Role.ADMIN.value))
    enterprise = EnterpriseFactory()
    url = f"/api/v1/enterprises/{enterprise.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    answer = client.put(
        f"{url}/regime",
        json={"regime": "hazchem", "reason": "stores chlorine above the threshold"},
        headers={**headers, "If-Match": etag},
    )
    assert answer.status_code == 200 and answer.get_json()["regime_override"]["regime"] == "hazchem"
    conforms(
        answer,
        "put",
        "/api/v1/enterprises/{enterprise_id}/regime",
        enterprise_id=str(enterprise.id),
    )
    conforms(
        client.get(url, headers=headers),
        "get",
        "/api/v1/enterprises/{enterprise_id}",
        enterprise_id=str(enterprise.id),
    )
