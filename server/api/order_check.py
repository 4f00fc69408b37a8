"""`GET /o/<token>`: the public check page an order's QR opens (any phone camera or WeChat):
the number, the enterprise, the date and the status, nothing else. The token is unguessable
and names no id; anything else answers 404."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from markupsafe import escape

from server.api.blueprint import Blueprint
from server.api.openapi import TEXT
from server.services.hazards import order_document, order_text, orders

blp = Blueprint("order_check", __name__, description="Order check page")

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title></head>
<body><h1>{title}</h1><dl>
<dt>{l_number}</dt><dd id="number">{number}</dd>
<dt>{l_enterprise}</dt><dd id="enterprise">{enterprise}</dd>
<dt>{l_date}</dt><dd id="date">{date}</dd>
<dt>{l_status}</dt><dd id="status">{status}</dd>
</dl></body></html>
"""


@blp.route("/o/<token>")
class OrderCheck(MethodView):
    @blp.doc(operationId="checkOrder", security=[])
    @blp.response(200, TEXT, content_type="text/html", description="the check page")
    def get(self, token):
        """Whether an order with this number was issued to this enterprise, and its status."""
        order = orders.by_token(token)
        words = order_text.text()["check_page"]
        status = "superseded" if order.get("superseded_by") else order["state"]
        page = PAGE.format(
            title=escape(words["title"]),
            l_number=escape(words["number"]),
            l_enterprise=escape(words["enterprise"]),
            l_date=escape(words["date"]),
            l_status=escape(words["status"]),
            number=escape(order["number"]),
            enterprise=escape(orders.enterprise_name(order)),
            date=escape(order_document.chinese_date(order["issued_at"])),
            status=escape(words["states"][status]),
        )
        return Response(page, mimetype="text/html")
