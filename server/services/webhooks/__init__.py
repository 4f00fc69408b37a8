"""Outgoing webhooks per enterprise: the endpoint, the Standard Webhooks signature, deliveries."""
