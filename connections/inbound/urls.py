from __future__ import annotations

from django.urls import re_path

from connections.inbound import views

# Both slash forms: the SDK posts without one, and an APPEND_SLASH redirect would make it
# send every request twice (or fail with DEBUG on).
urlpatterns = [
    re_path(r"^v2/events/?$", views.events, name="inbound_events"),
    re_path(r"^v2/bulkevents/?$", views.bulkevents, name="inbound_bulkevents"),
    re_path(
        r"^v2/bulkevents/historical/?$",
        views.bulkevents_historical,
        name="inbound_bulkevents_historical",
    ),
]
