"""Proof that workers consume: each worker that runs the beat's heartbeat task stamps its row."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    worker = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at}"
