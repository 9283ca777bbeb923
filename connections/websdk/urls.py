"""The Web SDK's endpoints at the paths it builds from ``identityUrl`` (``<host>/identity/v1/``),
``v3SecureServiceUrl`` (``<host>/v3/JS/``), ``configUrl`` (``<host>/JS/v2/``), ``aliasUrl``
(``<host>/v1/identity/``) and ``v1SecureServiceUrl`` (``<host>/v1/JS/``, forwarding statistics)."""

from __future__ import annotations

from django.urls import re_path

from connections.websdk import (
    alias_views,
    config_views,
    forwarding_views,
    identity_views,
    upload_views,
)

urlpatterns = [
    re_path(
        r"^identity/v1/(?P<method>identify|login|logout)/?$",
        identity_views.identify,
        name="websdk_identity",
    ),
    re_path(
        r"^identity/v1/(?P<mpid>-?[0-9]{1,20})/modify/?$",
        identity_views.modify,
        name="websdk_identity_modify",
    ),
    re_path(
        r"^v1/identity/(?P<key>[^/]{1,100})/[Aa]lias/?$", alias_views.alias, name="websdk_alias"
    ),
    re_path(r"^v3/JS/(?P<key>[^/]{1,100})/events/?$", upload_views.upload, name="websdk_events"),
    re_path(
        r"^v1/JS/(?P<key>[^/]{1,100})/Forwarding/?$",
        forwarding_views.forwarding_stats,
        name="websdk_forwarding",
    ),
    re_path(
        r"^JS/v2/(?P<key>[^/]{1,100})/config/?$",
        config_views.configuration,
        name="websdk_config",
    ),
]
