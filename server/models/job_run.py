"""Runs of outbox jobs: one record per time a worker called an entry's job function.

Written by `server.services.outbox.run` around the call, so admins and tests can see how often
a job really ran (an entry's `attempts` says how often it was claimed; a run that died with its
worker has `started_at` and no `finished_at`). `_id` is `"<entry id>:<attempt>"`: the runs of
an entry are found by `_id` alone, and a record is written once per claim.
"""

from __future__ import annotations

from mongoengine import DateTimeField, Document, IntField, StringField

#: Outcomes of a run; none while it is running (or when its worker died mid-run).
OK, ERROR = "ok", "error"


class JobRun(Document):
    id = StringField(primary_key=True)
    entry_id = StringField(required=True)
    job = StringField(required=True)
    attempt = IntField(required=True, min_value=1)
    #: `host:pid` of the process that ran it.
    runner = StringField()
    started_at = DateTimeField(required=True)
    finished_at = DateTimeField()
    outcome = StringField(choices=(OK, ERROR))
    error = StringField()

    meta = {"collection": "job_runs"}


def run_id(entry_id: str, attempt: int) -> str:
    return f"{entry_id}:{attempt}"
