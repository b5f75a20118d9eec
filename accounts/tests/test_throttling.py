"""API_RATE: each token's budget covers the REST API and the internal webhook endpoints together."""

import pytest
from django.core.cache import cache

from conftest import api_client


@pytest.fixture(autouse=True)
def three_a_minute(settings, db):
    settings.API_RATE = "3/min"
    cache.clear()
    yield
    cache.clear()


def test_the_request_over_the_limit_gets_429_with_retry_after(alice_api):
    for _ in range(3):
        assert alice_api.get("/api/v1/flows/").status_code == 200

    response = alice_api.get("/api/v1/flows/")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many requests with this token: the limit is 3/min.")


def test_internal_webhooks_share_the_tokens_budget(alice_api):
    for _ in range(3):
        assert alice_api.get("/api/v1/flows/").status_code == 200

    response = alice_api.get("/internal/v1/business_hours_check/")

    assert response.status_code == 429


def test_each_token_has_its_own_budget(alice_api, alice, acme, charlie_api):
    for _ in range(3):
        alice_api.get("/api/v1/flows/")
    assert alice_api.get("/api/v1/flows/").status_code == 429

    assert charlie_api.get("/api/v1/flows/").status_code == 200
    assert api_client(alice, acme).get("/api/v1/flows/").status_code == 200  # alice's second token
