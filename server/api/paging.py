"""Offset paging of mongoengine querysets for admin lists (`X-Pagination` header)."""

from __future__ import annotations

from flask_smorest import Page

#: MongoDB's skip is a signed 64-bit integer; a page past any real list is simply empty.
MAX_OFFSET = 10**9


class QuerySetPage(Page):
    """flask-smorest pager over a QuerySet: counts on the server, fetches one page (or over a
    list a use case already read)."""

    @property
    def items(self):
        if self.page_params.first_item >= MAX_OFFSET:
            return []
        return super().items

    @property
    def item_count(self):
        if isinstance(self.collection, list):
            return len(self.collection)
        return self.collection.count()
