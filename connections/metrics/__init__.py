"""Prometheus metrics (``/metrics``): counters the pipeline moves, gauges read from the outbox.

Every process (gunicorn and Celery workers) writes its counters to files of its own in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode); a scrape sums them.
"""
