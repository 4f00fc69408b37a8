"""Who may see a document, stated once per aggregate as data; every check is derived from it.

An `Audience` maps each role to what a document must have for an actor of that role to see
it: `EVERYONE`, nothing (the role is absent), or one or more `Match`es — a document field equal
to one of the actor's own attributes (`Match("jurisdiction_id", "jurisdiction_id")`: a
supervisor sees the documents of their jurisdiction). From that one statement come:

- `filter(queryset, actor)`: the scoped query behind every model's `for_actor`;
- `scope(doc)` / `visible(actor, scope)`: the audience stored with each change-feed entry and
  the feed's test of it, so a reader is told about exactly the documents they may see, and
  gets a tombstone when one leaves their view;
- `allows(actor, doc)`: the test of a document already fetched by id (raw lookups, which the
  embedded server answers from the `_id` index only when nothing else is in the filter).

An actor attribute that is unset never matches, so a user without a tenant sees nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mongoengine import Q, QuerySet

from server.actor import Actor, Role

EVERYONE: Literal["everyone"] = "everyone"


@dataclass(frozen=True)
class Match:
    """A document whose `field` equals the actor's `attribute` (`_id`: the document's own id),
    and, with `when`, whose `when[0]` field holds one of the values `when[1]` (a firm sees an
    inspection of itself only once it is submitted)."""

    field: str
    attribute: str
    when: tuple[str, tuple] | None = None

    def holds(self, actor: Actor, scope: Mapping) -> bool:
        wanted = getattr(actor, self.attribute)
        if wanted is None or scope.get(self.field) != wanted:
            return False
        return self.when is None or scope.get(self.when[0]) in self.when[1]

    def query(self, actor: Actor) -> Q | None:
        wanted = getattr(actor, self.attribute)
        if wanted is None:
            return None
        q = Q(**{_query_name(self.field): wanted})
        if self.when is not None:
            q &= Q(**{f"{_query_name(self.when[0])}__in": list(self.when[1])})
        return q


Rule = tuple[Match, ...] | Literal["everyone"]


@dataclass(frozen=True)
class Audience:
    """Per role, who sees a document; a role that is not named sees none."""

    rules: Mapping[Role, Rule]
    #: The document fields the rules read, in a stable order (they make up a scope).
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        seen: list[str] = []
        for rule in self.rules.values():
            if rule != EVERYONE:
                for match in rule:
                    named = (match.field, match.when[0]) if match.when else (match.field,)
                    seen += [f for f in named if f not in seen]
        object.__setattr__(self, "fields", tuple(seen))

    def scope(self, doc) -> dict:
        """The values that decide who sees `doc` (a raw dict or a mongoengine document)."""
        return {name: _value(doc, name) for name in self.fields}

    def visible(self, actor: Actor, scope: Mapping) -> bool:
        """May `actor` see a document of this `scope`?"""
        rule = self.rules.get(actor.role)
        if rule is None:
            return False
        if rule == EVERYONE:
            return True
        return any(match.holds(actor, scope) for match in rule)

    def allows(self, actor: Actor, doc) -> bool:
        """May `actor` see this document (fetched by id)? False for None."""
        return doc is not None and self.visible(actor, self.scope(doc))

    def filter(self, queryset: QuerySet, actor: Actor) -> QuerySet:
        """`queryset` narrowed to what `actor` may see."""
        rule = self.rules.get(actor.role)
        if rule is None:
            return queryset.none()
        if rule == EVERYONE:
            return queryset
        query = None
        for match in rule:
            q = match.query(actor)
            if q is not None:
                query = q if query is None else query | q
        return queryset.none() if query is None else queryset.filter(query)


def owned(field: str) -> Audience:
    """Admins see all; every other role only the documents whose `field` is their user id
    (what one user made for themselves: an upload, their photo evidence)."""
    return Audience(
        {role: EVERYONE if role is Role.ADMIN else (Match(field, "user_id"),) for role in Role}
    )


def _query_name(field: str) -> str:
    return "id" if field == "_id" else field


def _value(doc, field: str):
    if isinstance(doc, Mapping):
        return doc.get(field)
    return getattr(doc, "id" if field == "_id" else field, None)


class ScopedQuerySet(QuerySet):
    """A queryset that knows its document's audience: `Model.objects.for_actor(actor)`."""

    def for_actor(self, actor: Actor) -> QuerySet:
        return self._document.audience.filter(self, actor)
