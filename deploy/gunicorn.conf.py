"""gunicorn in production (docker-compose.yml's web service): threaded workers, short timeouts.

A sync worker is held by one slow client for as long as it takes to send its body; with
``gthread`` a slow client holds one thread of many, and the buffering proxy in front (nginx,
deploy/nginx.conf) sends gunicorn only whole requests anyway. Each value can be overridden
from the environment (``GUNICORN_CMD_ARGS``) or the command line.
"""

from __future__ import annotations

import os

bind = "0.0.0.0:8000"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker silent this long is restarted; requests themselves are bounded by the proxy.
timeout = 30
# SIGTERM: finish requests in flight within this, well inside compose's stop_grace_period.
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then (a leak never grows without bound), not all at once.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# X-Forwarded-Proto and -For count only from the proxy: gunicorn reads FORWARDED_ALLOW_IPS
# (default 127.0.0.1,::1); docker-compose.yml gives the proxy's fixed address.
