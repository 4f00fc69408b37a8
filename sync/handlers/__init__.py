"""One push handler per pushable collection (sync.handler); the wiring code registers them."""
