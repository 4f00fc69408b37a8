"""The `backup`, `restore` and `finish-restore` commands, made once for both ways of running them:
`flask --app server.app:create_app ...` (server/cli.py, the app's database) and
`python -m server.backup ...` (MONGODB_URI alone: no SECRET_KEY or Redis needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from pymongo.database import Database

from server.backup.archive import ArchiveError
from server.backup.dump import BackupError, backup
from server.backup.restore import FEED_GAP, Finished, RestoreError, finish, restore

_FEED_GAP = click.option(
    "--feed-gap",
    type=click.IntRange(min=0),
    default=FEED_GAP,
    show_default=True,
    help="feed numbers left unused after the restored log (README, Backups)",
)


def make_commands(database: Callable[[], Database]) -> tuple[click.Command, ...]:
    """The three commands, reading and writing the database `database()` returns."""

    @click.command("backup")
    @click.option(
        "--out",
        required=True,
        type=click.Path(path_type=Path),
        help="new directory for the archive (mongodump's layout)",
    )
    def backup_command(out: Path):
        """Copy the database into a new archive DIR, safe to take while the service runs."""
        try:
            report = backup(database(), out)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        for c in report.manifest.collections:
            click.echo(f"{c.name}: {c.documents} documents, {_mb(c.bytes)} in {c.seconds:.1f} s")
        click.echo(
            f"backup of {report.documents} documents ({_mb(report.bytes)}) written to "
            f"{report.path} in {report.seconds:.1f} s ({_rate(report.bytes, report.seconds)})"
        )

    @click.command("restore")
    @click.argument("archive_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--drop", is_flag=True, help="empty the target database first (all of it)")
    @_FEED_GAP
    def restore_command(archive_dir: Path, drop: bool, feed_gap: int):
        """Restore an archive into an empty database and ready it to serve."""
        try:
            loaded, finished = restore(database(), archive_dir, drop=drop, feed_gap=feed_gap)
        except (ArchiveError, RestoreError) as exc:
            raise click.ClickException(str(exc)) from None
        for c in loaded:
            click.echo(f"{c.name}: {c.documents} documents, {_mb(c.bytes)} in {c.seconds:.1f} s")
        seconds = sum(c.seconds for c in loaded)
        total = sum(c.bytes for c in loaded)
        click.echo(
            f"restored {sum(c.documents for c in loaded)} documents ({_mb(total)}) in "
            f"{seconds:.1f} s ({_rate(total, seconds)})"
        )
        _echo_feed(finished)

    @click.command("finish-restore")
    @_FEED_GAP
    def finish_command(feed_gap: int):
        """Ready a database restored by another tool (mongorestore): indexes, feed, leases."""
        _echo_feed(finish(database(), feed_gap=feed_gap))

    return backup_command, restore_command, finish_command


def _echo_feed(finished: Finished) -> None:
    click.echo(
        f"indexes ensured; feed restored up to {finished.restored_top}, "
        f"{finished.resequenced} documents re-sequenced from {finished.resumes_at}"
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _rate(size: int, seconds: float) -> str:
    return f"{size / 1e6 / seconds:.1f} MB/s" if seconds > 0 else "-"
