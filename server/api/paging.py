"""Offset paging of mongoengine querysets for admin lists (`X-Pagination` header)."""

from __future__ import annotations

from flask_smorest import Page


class QuerySetPage(Page):
    """flask-smorest pager over a QuerySet: counts on the server, fetches one page."""

    @property
    def item_count(self):
        return self.collection.count()
