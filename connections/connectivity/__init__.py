"""Connectivity checks: DNS → TCP → TLS → HTTP per output, run as Celery tasks (SPEC §7)."""
