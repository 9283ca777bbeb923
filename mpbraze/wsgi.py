from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
application = get_wsgi_application()

from mpbraze.heap import heap_settle  # noqa: E402 (needs the settings get_wsgi_application set up)

heap_settle()  # in each web worker: gunicorn imports this module after it forks
