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
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert response.json()["detail"] == f"Too many requests with this token: the limit is 3/min; try again in {wait} s."


def test_a_rate_lowered_below_the_requests_counted_still_names_the_limit(alice_api, settings):
    """DRF then knows no wait: the sentence names the limit alone."""
    for _ in range(3):
        alice_api.get("/api/v1/flows/")
    settings.API_RATE = "1/min"

    response = alice_api.get("/api/v1/flows/")

    assert response.status_code == 429
    assert response.json()["detail"] == "Too many requests with this token: the limit is 1/min."


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
