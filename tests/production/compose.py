"""docker-compose.yml read as Compose would run it, turned into processes on this machine.

Only what the stack's own services need: ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``
interpolation, YAML anchors (PyYAML resolves ``<<`` merge keys), and each service's command,
environment, health check and stop grace period. Hosts and paths that exist only inside the
compose network (``postgres``, ``redis``, volume mounts, port 8000) are swapped for this
machine's; nothing else is changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        found = variables.get(name, "")
        if op == ":?" and not found:
            raise KeyError(f"{name}: {arg}")
        return found or (arg if op == ":-" else "")

    return _VARIABLE.sub(value, text)


def load(variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file parsed, then interpolated value by value (as Compose does: ``${X:-}`` is "")."""
    document: dict[str, Any] = _interpolate_values(yaml.safe_load(path.read_text()), variables)
    return document


def _interpolate_values(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, dict):
        return {key: _interpolate_values(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate_values(item, variables) for item in node]
    return node


def seconds(duration: str) -> float:
    """Compose durations as used here: ``45s``, ``1m30s``."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", duration))


@dataclass(frozen=True)
class Service:
    name: str
    command: str
    environment: dict[str, str]
    healthcheck: list[str] | None
    stop_grace_seconds: float


def service(spec: dict[str, Any], name: str, swaps: Mapping[str, str]) -> Service:
    """One service with ``swaps`` (text inside the compose network → this machine) applied to
    its command, environment values and health check, and its database/broker URLs pointed at
    the URLs given for their hosts (``swaps["postgres"]``: a whole URL)."""
    raw = spec["services"][name]
    env = {k: _swap_url(str(v), swaps) for k, v in raw.get("environment", {}).items()}
    env = {k: _swap(v, swaps) for k, v in env.items()}
    test = raw.get("healthcheck", {}).get("test")
    check = [_swap(part, swaps) for part in test[1:]] if test else None
    return Service(
        name=name,
        command=_swap(" ".join(raw["command"].split()), swaps),
        environment=env,
        healthcheck=check,
        stop_grace_seconds=seconds(raw.get("stop_grace_period", "10s")),
    )


def _swap(text: str, swaps: Mapping[str, str]) -> str:
    for inside, outside in swaps.items():
        if inside.startswith("/") or ":" in inside or text == inside:  # paths, hosts, addresses
            text = text.replace(inside, outside)
    return text


def _swap_url(value: str, swaps: Mapping[str, str]) -> str:
    host = urlsplit(value).hostname if "://" in value else None
    return swaps.get(host, value) if host else value
