"""The admin app, installed with the audit site as its default site."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class AuditAdminConfig(AdminConfig):
    """``django.contrib.admin`` whose ``admin.site`` is ``mpbraze.admin.AuditAdminSite``."""

    default_site = "mpbraze.admin.AuditAdminSite"
