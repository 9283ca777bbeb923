"""The beat's sweep of erasures: publish again what a lost message (or a broker outage) left
waiting, requests and callbacks alike."""

from __future__ import annotations

from django.utils import timezone

from connections.dsr.callbacks import dsr_callbacks_publish
from connections.dsr.models import RUNNING, DataSubjectCallback, DataSubjectRequest
from connections.dsr.services import dsr_request_publish

BATCH = 100


def dsr_sweep() -> None:
    now = timezone.now()
    due = DataSubjectRequest.objects.filter(status__in=RUNNING, next_attempt_at__lte=now)
    for request_id in due.values_list("pk", flat=True)[:BATCH]:
        dsr_request_publish(request_id=request_id)
    owed = DataSubjectCallback.objects.filter(
        state=DataSubjectCallback.State.PENDING, next_attempt_at__lte=now
    )
    for request_id in set(owed.values_list("request_id", flat=True)[:BATCH]):
        dsr_callbacks_publish(request_id=request_id)
