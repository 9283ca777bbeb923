"""Connectivity checks: DNS → TCP → TLS → HTTP per output, run as Celery tasks.

What users see of them: docs/pages.md "Connectivity checks".
"""
