"""The audit log: every state change as an event in a hash chain per jurisdiction, chain heads
signed with Ed25519, exported and verified offline (README, "Audit log").

Modules: `canonical` (the one JSON encoding that is hashed and signed), `event` (pure event
builders and state digests), `signing` (keys and head signatures), `record` (what services
call: events through the outbox), `chain` (numbered, linked appends), `heads` (periodic
signing), `export` (a chain range to files), `verify` (the stand-alone verifier).

This file imports nothing: `python -m server.services.audit.verify` must run on an auditor's
machine with neither pymongo nor mongoengine loaded (only `canonical` and `signing`).
"""
