"""Dead bearer tokens are purged by a job on a real worker; live ones stay."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.auth import purge_dead_tokens
from server.models.token import AuthToken
from tests.factories import UserFactory


def test_expired_and_revoked_tokens_go_after_a_day(db, redis, settings):
    user, now = UserFactory(), utcnow()

    def token(name, **fields):
        fields.setdefault("expires_at", now + timedelta(hours=1))
        return AuthToken(token_hash=name * 64, user_id=user.id, created_at=now, **fields).save()

    token("a")  # live
    token("b", expires_at=now - timedelta(days=2))  # long expired
    token("c", expires_at=now - timedelta(hours=2))  # expired recently: kept a while
    token("d", revoked_at=now - timedelta(days=3))  # long revoked
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(purge_dead_tokens)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert job.return_value() == 2
    assert sorted(t.token_hash[0] for t in AuthToken.objects) == ["a", "c"]
