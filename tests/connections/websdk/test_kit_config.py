"""The Web SDK's configuration: the Braze kit's settings from the Web output, in the kit's keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.crypto import encryption
from connections.models import Connection, DeliveryMode
from mapping.output_settings import CommerceMode, OutputSettings, ProductIdSource
from tests.conftest import add_output
from tests.connections.websdk.websdk_helpers import SITE

pytestmark = pytest.mark.django_db


def config(client: Client, connection: Connection, **headers: str) -> Any:
    return client.get(f"/JS/v2/{connection.web_key}/config?env=0", headers=headers)


def braze_kit(client: Client, connection: Connection) -> dict[str, Any]:
    document = config(client, connection).json()
    [kit] = document["kitConfigs"]
    assert (kit["moduleId"], kit["name"]) == (28, "Appboy")
    return dict(kit)


def test_the_entry_names_the_suffix_the_braze_web_kit_registers_with(
    client: Client, connection: Connection
) -> None:
    """``@mparticle/web-braze-kit`` 4.x registers as "Appboy-v4"; the SDK starts it only for
    an entry whose name and suffix make that name (the browser test runs the real kit)."""
    add_output(connection, "web", "web-app-key")
    kit = braze_kit(client, connection)
    assert f"{kit['name']}-{kit['suffix']}" == "Appboy-v4"


def test_the_kit_starts_with_the_web_outputs_settings(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key-0001", external_identity_type="email")
    assert braze_kit(client, connection)["settings"] == {
        "apiKey": "web-app-key-0001",
        "userIdentificationType": "Email",
        "emailIdentificationType": "Email",
        "cluster": "03",
        "forwardScreenViews": "False",
        "bundleCommerceEventData": "False",
        "forwardSkuAsProductName": "True",
    }


@pytest.mark.parametrize(
    ("identity", "spelled"),
    [("customer_id", "CustomerId"), ("other_id_2", "Other2"), ("mpid", "MPID")],
)
def test_the_identity_type_is_spelled_as_the_kit_reads_it(
    client: Client, connection: Connection, identity: str, spelled: str
) -> None:
    add_output(connection, "web", "web-app-key", external_identity_type=identity)
    assert braze_kit(client, connection)["settings"]["userIdentificationType"] == spelled


@pytest.mark.parametrize(
    ("instance", "cluster"),
    [("US-01", "01"), ("EU-01", "EU"), ("EU-02", "EU02"), ("AU-01", "AU")],
)
def test_a_named_instance_is_the_kits_cluster_code(
    client: Client, connection: Connection, instance: str, cluster: str
) -> None:
    add_output(connection, "web", "web-app-key", braze_instance=instance)
    assert braze_kit(client, connection)["settings"]["cluster"] == cluster


def test_custom_endpoints_travel_as_the_json_the_kit_decodes(
    client: Client, connection: Connection
) -> None:
    add_output(
        connection,
        "web",
        "web-app-key",
        braze_instance="custom",
        custom_rest_endpoint="rest.braze.example",
        custom_sdk_endpoint="sdk.braze.example",
        custom_js_endpoint="js.braze.example",
    )
    cluster = braze_kit(client, connection)["settings"]["cluster"]
    assert json.loads(cluster) == {
        "SDK": "sdk.braze.example",
        "REST": "rest.braze.example",
        "JS": "js.braze.example",
    }


def test_forwarding_settings_are_the_strings_the_kit_parses(
    client: Client, connection: Connection
) -> None:
    output = add_output(connection, "web", "web-app-key")
    settings = OutputSettings(
        forward_screen_views=True,
        commerce_mode=CommerceMode.BUNDLED,
        product_id_source=ProductIdSource.NAME,
    )
    output.settings = settings.model_dump(mode="json")
    output.save()
    kit = braze_kit(client, connection)["settings"]
    assert kit["forwardScreenViews"] == "True"
    assert kit["bundleCommerceEventData"] == "True"
    assert kit["forwardSkuAsProductName"] == "False"


def test_server_side_delivery_leaves_the_kit_out(client: Client, connection: Connection) -> None:
    add_output(connection, "web", "web-app-key", delivery_mode=DeliveryMode.SERVER_SIDE)
    assert config(client, connection).json()["kitConfigs"] == []


def test_a_browser_may_keep_it_for_the_configured_time(
    client: Client, connection: Connection, settings: Any
) -> None:
    settings.MPBRAZE_WEB_CONFIG_MAX_AGE_SECONDS = 120
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    response = config(client, connection, Origin=SITE)
    assert response["Cache-Control"] == "max-age=120"
    assert response["Access-Control-Allow-Origin"] == SITE
    assert config(client, connection, Origin="https://evil.example").status_code == 403


def test_a_browser_revalidating_an_unchanged_answer_gets_a_304(
    client: Client, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    first = config(client, connection, Origin=SITE)
    again = config(client, connection, Origin=SITE, **{"If-None-Match": first["ETag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert again["ETag"] == first["ETag"]
    assert again["Access-Control-Allow-Origin"] == SITE


def test_a_changed_web_output_answers_in_full_to_the_old_etag(
    client: Client, connection: Connection
) -> None:
    output = add_output(connection, "web", "web-app-key", allowed_origins=SITE)
    first = config(client, connection, Origin=SITE)
    output.api_key_encrypted = encryption.encrypt("web-app-key-new")
    output.save()
    again = config(client, connection, Origin=SITE, **{"If-None-Match": first["ETag"]})
    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    assert again.json()["kitConfigs"][0]["settings"]["apiKey"] == "web-app-key-new"


def test_an_unknown_web_key_is_a_401(client: Client, connection: Connection) -> None:
    assert client.get("/JS/v2/mpw_nope/config?env=0").status_code == 401


def test_the_card_offers_the_same_document_as_a_download(
    client: Client, marketer: User, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key")
    client.force_login(marketer)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert f'href="/connections/{connection.pk}/kit-config.json"' in page
    download = client.get(f"/connections/{connection.pk}/kit-config.json")
    assert download["Content-Disposition"].startswith("attachment;")
    assert (
        json.loads(download.content)["kitConfigs"]
        == config(client, connection).json()["kitConfigs"]
    )


def test_an_outsider_cannot_download_it(
    client: Client, outsider: User, connection: Connection
) -> None:
    add_output(connection, "web", "web-app-key")
    client.force_login(outsider)
    assert client.get(f"/connections/{connection.pk}/kit-config.json").status_code == 403
