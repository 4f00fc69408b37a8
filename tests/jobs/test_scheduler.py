"""The periodic jobs on RQ's own cron scheduler: every entry of PERIODIC registered with its
interval, queued JSON-serialized under its fixed id, one copy at a time however many
schedulers run, and queued again once the last copy ran or failed."""

from __future__ import annotations

from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job
from rq.serializers import JSONSerializer

from server.jobs import worker
from server.jobs.queueing import state
from server.jobs.scheduler import PeriodicJob, PeriodicScheduler
from server.jobs.timers import TICK_JOB_ID


def test_every_periodic_job_is_on_the_schedule_and_timers_tick_every_minute_or_less(redis):
    scheduler = PeriodicScheduler(redis, "default")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job_id for _f, job_id, _every in worker.PERIODIC}
    assert {
        "feed-sweep",
        "uploads-maintenance",
        "tokens-purge",
        "outbox-sweep",
        TICK_JOB_ID,
    } <= set(jobs)
    for func, job_id, every in worker.PERIODIC:
        assert isinstance(jobs[job_id], PeriodicJob)
        assert jobs[job_id].func is func and jobs[job_id].interval == every.total_seconds()
    assert jobs[TICK_JOB_ID].interval <= 60
    assert set(worker.CATCH_UP) <= set(jobs)


def test_two_schedulers_queue_one_json_copy_of_each_job_until_it_ran(redis, settings, jobs):
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    first, second = (PeriodicScheduler(redis, settings.rq_queue) for _ in range(2))
    assert len(first.enqueue_jobs()) == len(worker.PERIODIC)
    second.enqueue_jobs()  # due too, but every job is still waiting: nothing more
    assert sorted(queue.job_ids) == sorted(job_id for _f, job_id, _e in worker.PERIODIC)
    tick = Job.fetch(TICK_JOB_ID, connection=redis, serializer=JSONSerializer)
    assert tick.func_name == "server.jobs.timers.tick_timers"
    # The tick ran (result_ttl=0 drops its record): the next period queues it again.
    queue.remove(TICK_JOB_ID)
    redis.delete(Job.key_for(TICK_JOB_ID))
    [job for job in second.get_jobs() if job.name == TICK_JOB_ID][0].enqueue(redis)
    assert state(redis, TICK_JOB_ID) == "queued"
    # A failed run leaves a record for admins until the next period replaces it.
    redis.hset(Job.key_for(TICK_JOB_ID), "status", "failed")
    queue.remove(TICK_JOB_ID)
    [job for job in first.get_jobs() if job.name == TICK_JOB_ID][0].enqueue(redis)
    assert state(redis, TICK_JOB_ID) == "queued" and queue.job_ids.count(TICK_JOB_ID) == 1


def test_the_scheduler_registers_itself_where_rqs_tools_look(redis, settings):
    scheduler = PeriodicScheduler(redis, settings.rq_queue)
    scheduler.register_birth()
    try:
        [found] = [s for s in CronScheduler.all(redis) if s.name == scheduler.name]
        assert {job.name for job in found.get_jobs()} == {j for _f, j, _e in worker.PERIODIC}
    finally:
        scheduler.register_death()
