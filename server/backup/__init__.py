"""Backups through the wire protocol in mongodump's layout, and their restore (README, "Backups").

`archive` is the format on disk, `order` the order collections are copied in and why it keeps
an archive of a running service consistent, `dump` writes an archive, `restore` loads one and
readies the database to serve, `commands` are the command-line verbs (for `flask` and for
`python -m server.backup`).
"""
