"""`python -m server.backup backup|restore|finish-restore`: the backup commands without the
Flask app, for a machine where only the database is known. Reads MONGODB_URI (default: the
embedded server of `make run`)."""

from __future__ import annotations

import logging
import os

import click
from pymongo import MongoClient
from pymongo.database import Database

from server.backup.commands import make_commands
from server.config import Settings


def database() -> Database:
    """The database named by MONGODB_URI; only the URI is read, so no other setting is needed."""
    settings = Settings(mongodb_uri=os.environ.get("MONGODB_URI") or Settings.mongodb_uri)
    client = MongoClient(
        settings.mongodb_uri,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
    )
    return client[settings.mongodb_database]


main = click.Group(
    "python -m server.backup",
    commands=make_commands(database),
    help="Back up and restore the service's MongoDB database (README, Backups).",
)

if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    main()
