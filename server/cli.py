"""Command-line tasks, registered explicitly on the app (`flask --app server.app ...`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from mongoengine.connection import get_db

from checklists.loader import load_templates
from checklists.versions import publish_all
from server.actor import Actor, Role
from server.clock import utcnow
from server.db import ensure_indexes
from server.errors import DomainError
from server.jobs import overview
from server.models import DOCUMENTS
from server.services import demo, identity
from sync import sequencer


def _settings():
    return current_app.extensions["safety"].settings


@click.command("init-db")
def init_db():
    """Create the indexes (unique ones carry invariants) before serving."""
    ensure_indexes(DOCUMENTS)
    sequencer.migrate_counter(get_db())
    click.echo(f"indexes ensured for {len(DOCUMENTS)} collections")


@click.command("publish-checklists")
def publish_checklists():
    """Publish every checklist template whose content changed as a new version."""
    for p in publish_all(load_templates(), now=utcnow()):
        state = "published" if p.created else "unchanged"
        click.echo(f"{p.code} v{p.version} {state} ({p.content_hash[:12]})")


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="seed a database this project did not create")
def seed_demo(force):
    """Create the demo jurisdiction, enterprises A and B and users (idempotent)."""
    try:
        seeded = demo.seed_demo(
            now=utcnow(), password_profile=_settings().password_hash_profile, force=force
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"demo users (password {demo.DEMO_PASSWORD}): {', '.join(seeded['users'])}")


@click.command("create-admin")
@click.option("--username", required=True)
@click.password_option()
def create_admin(username, password):
    """Create an admin user."""
    try:
        user = identity.create_user(
            Actor(user_id=None, role=Role.ADMIN),
            username=username,
            password=password,
            display_name=username,
            role=Role.ADMIN,
            now=utcnow(),
            password_profile=_settings().password_hash_profile,
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"admin {user.username} created")


@click.command("jobs-retry")
@click.argument("job_id")
@with_appcontext
def jobs_retry(job_id):
    """Run a failed job again: an outbox entry (GET /api/v1/admin/jobs?state=failed lists them)
    with fresh attempts, or a job of RQ's failed registry."""
    safety = current_app.extensions["safety"]
    found = overview.retry(
        job_id, redis=safety.redis, queue_name=safety.settings.rq_queue, now=utcnow()
    )
    if found is None:
        raise click.ClickException(f"no failed job {job_id}")
    click.echo(f"{job_id} will run again ({found})")


COMMANDS = (init_db, publish_checklists, seed_demo, create_admin, jobs_retry)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
