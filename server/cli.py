"""Command-line tasks, registered explicitly on the app (`flask --app server.app ...`)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from mongoengine.connection import get_db

from checklists import gas_versions
from checklists.loader import load_editions
from checklists.versions import publish_editions
from media.blobstore import BlobStore
from media.split import split_legacy_photos
from server.actor import Actor, Role
from server.backup.commands import make_commands
from server.clock import utcnow
from server.db import drop_changed_indexes, ensure_indexes
from server.errors import DomainError
from server.jobs import overview
from server.models import DOCUMENTS, keyed_reads
from server.services import demo, identity
from server.services.audit import chain, export, heads, signing
from sync import figures, sequencer


def _settings():
    return current_app.extensions["safety"].settings


@click.command("init-db")
@with_appcontext
def init_db():
    """Create the indexes (unique ones carry invariants) and bring stored data to the current
    layout (idempotent) before serving."""
    db = get_db()
    for name in drop_changed_indexes(DOCUMENTS, db):
        click.echo(f"index {name} dropped: made again as declared")
    ensure_indexes(DOCUMENTS)
    keyed_reads.ensure_root()
    sequencer.migrate_counter(db)
    click.echo(f"indexes ensured for {len(DOCUMENTS)} collections")
    classified, left = identity.classify_industries(now=utcnow())
    if classified or left:
        click.echo(
            f"{classified} enterprises given the industry code their industry names; "
            f"{len(left)} left for an admin to classify (default regime until then)"
        )
    split = split_legacy_photos(db, settings=_settings(), store=BlobStore(db))
    if split:
        click.echo(f"{split} photo records split into upload contexts")


@click.command("publish-checklists")
def publish_checklists():
    """Publish every checklist template, and the gas limits, whose content changed as a new
    version."""
    now = utcnow()
    for p in [
        *publish_editions(load_editions(), now=now),
        gas_versions.publish_editions(gas_versions.load_gas_editions(), now=now),
    ]:
        state = "published" if p.created else "unchanged"
        click.echo(f"{p.code} v{p.version} {state} ({p.content_hash[:12]})")


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="seed a database this project did not create")
def seed_demo(force):
    """Create the demo jurisdiction, enterprises A and B, users and A's confined spaces, the
    demo permit made ready for entry now (idempotent)."""
    try:
        config = _settings()
        seeded = demo.seed_demo(
            now=utcnow(),
            password_profile=config.password_hash_profile,
            force=force,
            settings=config,
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"demo users (password {demo.DEMO_PASSWORD}): {', '.join(seeded['users'])}")
    spaces = seeded["spaces"]
    click.echo(f"demo spaces of A: {', '.join(spaces['spaces'])}; permit {spaces['permit']['_id']}")


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


@click.command("audit-chains")
def audit_chains():
    """List the audit chains: name (a jurisdiction id, or system), head, last signed head."""
    db = get_db()
    for name in chain.chains(db):
        signed = (db[heads.SIGNED].find_one({"_id": name}) or {}).get("n", 0)
        click.echo(f"{name}\thead={chain.head(db, name)}\tsigned={signed}")


@click.command("audit-sign")
def audit_sign():
    """Sign the head of every audit chain that grew since its last signature (the worker also
    does this every few minutes)."""
    key = signing.private_key(_settings().audit_signing_key)
    result = heads.sign_heads(get_db(), key, now=utcnow())
    for signed in result["signed"]:
        click.echo(f"signed {signed['chain']} n={signed['n']}")
    for broken in result["broken"]:
        click.echo(f"NOT SIGNED {broken['chain']}: {broken['error']}", err=True)
    if result["broken"]:
        raise click.ClickException("some audit chains are broken; see above")
    if not result["signed"]:
        click.echo("every chain head is signed already")


@click.command("audit-export")
@click.option("--chain", "name", required=True, help="a jurisdiction id, or 'system'")
@click.option("--from", "first", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--to", "last", type=click.IntRange(min=1), help="last event (default: the head)")
@click.option("--photos", is_flag=True, help="include the original bytes of the named photos")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="new or empty directory",
)
def audit_export(name, first, last, photos, out):
    """Export events FROM..TO of an audit chain (JSON lines, signatures, photos) for
    `python -m server.services.audit.verify`."""
    db = get_db()
    try:
        manifest = export.export_chain(
            db,
            name,
            out,
            now=utcnow(),
            first=first,
            last=last,
            read_photo=BlobStore(db).read if photos else None,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"chain {name}: events {manifest['from']}..{manifest['to']} "
        f"({manifest['events']}), {manifest['signatures']} signed heads"
        + (f", {manifest['photos_referenced']} photos" if photos else "")
        + f" -> {out}"
    )
    if manifest["photos_missing"]:
        click.echo(f"photos not in the store: {', '.join(manifest['photos_missing'])}", err=True)


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


@click.command("figures-recount")
@with_appcontext
def figures_recount():
    """Rebuild the figures from every hazard and inspection (after a restore, or to check
    them: the figures kept current from the change feed must come out the same)."""
    try:
        counted = figures.recount(get_db())
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"figures recounted: {counted['hazards']} hazards, {counted['inspections']} inspections"
    )


COMMANDS = (
    init_db,
    publish_checklists,
    seed_demo,
    create_admin,
    audit_chains,
    audit_sign,
    audit_export,
    jobs_retry,
    figures_recount,
    *make_commands(get_db),
)


def register_commands(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
