"""Talking to Braze's REST API: the transport and the classified answers it returns."""

from __future__ import annotations

from connections.braze.responses import TrackOutcome, TrackResponse, TransportError
from connections.braze.transport import BrazeTransport, Transport

__all__ = ["BrazeTransport", "TrackOutcome", "TrackResponse", "Transport", "TransportError"]
