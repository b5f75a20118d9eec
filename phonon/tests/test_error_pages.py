"""400, 403, 404 and 500 in the site's layout, saying what to do next (DEBUG is off in tests)."""

import pytest
from django.test import RequestFactory
from django.urls import get_resolver


def test_a_viewer_opening_a_write_page_sees_the_role_needed_and_the_menu(bob_client):
    response = bob_client.get("/webhooks/add/")

    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="mainnav"' in page  # the layout, with its menu
    assert "ask an owner for the developer role" in page
    assert "viewer of Acme" in page
    assert 'href="/">Back to the start page' in page


def test_a_missing_page_is_a_404_in_the_layout(alice_client):
    response = alice_client.get("/flows/987654/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="mainnav"' in page
    assert "Not found" in page and "Back to the start page" in page


def test_an_unknown_host_is_a_400_page_with_a_way_back(client, db):
    response = client.get("/login/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
    assert "Back to the start page" in response.content.decode()


@pytest.mark.django_db
def test_a_server_error_page_needs_nothing_that_may_have_failed():
    """Drawn without the request: no session, no account, no database."""
    server_error = get_resolver().resolve_error_handler(500)

    response = server_error(RequestFactory().get("/flows/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Server error" in page and "Back to the start page" in page
    assert '<link rel="stylesheet"' in page


def test_api_errors_stay_json(alice_api):
    response = alice_api.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["detail"].startswith("No API endpoint")
