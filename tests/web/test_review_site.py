"""The review site's frame: who may open it, its language, its refusals as pages."""

from __future__ import annotations

from server.actor import Role
from tests.factories import EnterpriseFactory, JurisdictionFactory, enterprise_user, regulator
from tests.web.pages import log_in


def test_not_logged_in_goes_to_the_login_form_and_back(client):
    page = client.get("/review/")
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/login?next=/review/")


def test_a_supervisor_sees_the_site_in_chinese_then_english(client):
    supervisor = regulator(Role.SUPERVISOR, JurisdictionFactory())
    log_in(client, supervisor, "/review/")
    zh = client.get("/review/")
    assert zh.status_code == 200
    html = zh.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "安全检查审核平台" in html
    en = client.get("/review/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en and "Safety inspection review" in en
    # The choice is kept by the session.
    assert "Safety inspection review" in client.get("/review/").get_data(as_text=True)


def test_a_worker_is_refused_with_a_page_not_json(client):
    firm = EnterpriseFactory(jurisdiction_id=JurisdictionFactory().id)
    log_in(client, enterprise_user(Role.WORKER, firm), "/review/")
    refused = client.get("/review/")
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"
    assert "您的账号无权访问此页面" in refused.get_data(as_text=True)
