"""Plumbing shared by the JSON API: errors, bodies, responses, idempotency, OpenAPI."""
