"""Hostile input is a 400 with a sentence on every route, never a 500 (on SQLite and PostgreSQL).

Walks the URL resolver like test_cross_account.py, so a new route is covered the day it is
added, and sends each one what once broke the product: a NUL and a lone surrogate (which
PostgreSQL cannot store) in JSON bodies, query strings and forms, and JSON nested 2,000 levels
deep (Python's parser fails with RecursionError). Objects for routes with ids come from the
cross-account factories, made in the caller's own account, so the request reaches the view.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from flows.tests.factories import make_flow, queue_execution
from phonon.lib.json_input import TOO_DEEP
from tests.test_cross_account import EXCLUDED_PREFIXES, FACTORIES, Route, url_kwargs, walk

ROUTES = [
    route
    for route in {(r.name or r.path): r for r in walk(get_resolver())}.values()
    if route.name and not route.path.startswith(EXCLUDED_PREFIXES)
]
BODY_METHODS = ("post", "put", "patch")
# Routes whose writes take no body: a hostile one is never read, so they answer as usual.
BODY_IGNORED = {
    "webhook-rotate-secret",
    "webhook-end-secret-overlap",
    "delivery-replay",
    "logout",
    "flow-test-case-run",  # running the test cases takes no body (API and site)
    "flows:test-cases-run",
    "flows:revision-restore",  # the revision is in the path
}
# The site's pages that take JSON (the others take forms).
SITE_JSON_ROUTES = {
    "flows:designer",
    "flows:designer-new",
    "flows:test-widget",
    "flows:publish",
    "flows:test-case-from-widget",
}
# Values for URL kwargs that are not ids.
OTHER_KWARGS = {"name": "cli_pause_update"}  # POST and PUT

NUL_BODY = '{"name": "Order\\u0000status", "call": {"cli": "+1555\\u0000"}}'
SURROGATE_BODY = '{"name": "Order \\ud800 status"}'
DEEP_BODY = "[" * 2000 + "]" * 2000


def url_for(route: Route, account) -> str:
    kwargs = {kwarg: OTHER_KWARGS.get(kwarg, "anything") for kwarg in route.kwargs}
    if route.id_kwargs:
        kwargs.update(url_kwargs(route, FACTORIES[route.name](account)))
    return reverse(route.name, kwargs=kwargs)


def client_for(route: Route, alice, alice_api):
    if route.is_api:
        return alice_api
    client = Client()
    client.force_login(alice)
    return client


def takes_json(route: Route) -> bool:
    return route.is_api or route.name in SITE_JSON_ROUTES


def body_routes() -> list[tuple[Route, str]]:
    return [(route, method) for route in ROUTES for method in route.methods()[0] if method in BODY_METHODS]


def test_the_walker_finds_the_routes_that_take_json():
    names = {route.name for route, _ in body_routes() if takes_json(route)}
    assert {"flow-list", "execution-list", "webhook-check", "internal-cli_pause_update", "flows:designer"} <= names


@pytest.mark.parametrize(("route", "method"), body_routes(), ids=lambda value: getattr(value, "name", value))
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (NUL_BODY, None, "NUL character (U+0000)"),
        (SURROGATE_BODY, "name", "unpaired surrogate (U+D800)"),
        (DEEP_BODY, None, TOO_DEEP),
    ],
    ids=["nul", "lone-surrogate", "2000-levels"],
)
def test_a_hostile_json_body_is_a_400_naming_the_field(route, method, body, field, words, alice, alice_api, acme):
    response = getattr(client_for(route, alice, alice_api), method)(
        url_for(route, acme), body, content_type="application/json"
    )

    if route.name in BODY_IGNORED or response.status_code == 405 or not takes_json(route):
        # The body is never read as JSON: a form page sees an empty form, a refused method reads nothing.
        assert response.status_code < 500, f"{method.upper()} {route.path}: {response.status_code}"
        return
    assert response.status_code == 400, f"{method.upper()} {route.path}: {response.status_code} {response.content!r}"
    errors = response.json()
    errors = errors.get("errors", errors)  # the designer answers {"errors": {path: [sentences]}}
    text = json.dumps(errors)
    assert words in text, f"{method.upper()} {route.path}: {errors}"
    if field is not None:
        assert errors[field] == [f"The text holds an {words}, which cannot be stored; remove it."]
    elif body == NUL_BODY:
        assert set(errors) <= {"name", "call.cli"}, errors  # whichever field the walk met first


def test_a_nul_in_a_json_key_is_refused_naming_its_place(alice_api, acme):
    response = alice_api.post(
        "/api/v1/executions/", '{"user_keys": {"a\\u0000b": "x"}}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "user_keys.a\ufffdb": [
            "The field's name is refused. The text holds a NUL character (U+0000), which cannot be stored; remove it."
        ]
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name)
def test_a_nul_in_the_query_string_is_a_400_naming_the_parameter(route, alice, alice_api, acme):
    for method in route.methods()[0]:
        response = getattr(client_for(route, alice, alice_api), method)(url_for(route, acme) + "?flow=1%00")

        assert response.status_code == 400, f"{method.upper()} {route.path}: {response.status_code}"
        text = response.content.decode()
        assert "flow" in text and "NUL character" in text, text


EDGE_DATES = ["0001-01-01", "0001-01-01T00:00:00+05:00", "9999-12-31", "9999-12-31T23:59:00-05:00"]


@pytest.mark.parametrize("route", [route for route in ROUTES if "get" in route.methods()[0]], ids=lambda r: r.name)
def test_dates_at_the_ends_of_the_calendar_are_no_500(route, alice, alice_api, acme):
    """The day after 9999-12-31, or a zone's shift before year 1, does not exist: it is read as the
    calendar's end (a 500 on every list, CSV and report before)."""
    client, url = client_for(route, alice, alice_api), url_for(route, acme)
    for date in EDGE_DATES:
        response = client.get(url, {"since": date, "until": date, "format": "csv"})

        assert response.status_code < 500, f"GET {route.path} with {date}: {response.status_code}"


@pytest.mark.parametrize("date", EDGE_DATES)
def test_the_ends_of_the_calendar_stand_for_no_bound(alice_api, acme, date):
    flow = make_flow(acme)
    queue_execution(flow)
    bound = "until" if date.startswith("9999") else "since"

    listed = alice_api.get("/api/v1/executions/", {bound: date})
    replayed = alice_api.post("/api/v1/deliveries/replay/", {"until": date}, format="json")

    assert (listed.status_code, listed.json()["count"]) == (200, 1)
    assert (replayed.status_code, replayed.json()) == (202, {"queued": 0})


@pytest.mark.parametrize("body", ["[]", "1", '"x"', "true"])
def test_a_replay_body_that_is_no_object_is_a_400(alice_api, body):
    response = alice_api.post("/api/v1/deliveries/replay/", body, content_type="application/json")

    assert (response.status_code, response.json()) == (400, {"non_field_errors": ["Send a JSON object."]})


@pytest.mark.parametrize(
    ("route", "method"),
    [(route, method) for route, method in body_routes() if not route.is_api and method == "post"],
    ids=lambda value: getattr(value, "name", value),
)
def test_a_nul_in_a_site_form_is_a_400_naming_the_field(route, method, alice, acme):
    client = client_for(route, alice, None)

    response = getattr(client, method)(url_for(route, acme), {"name": "Acme\x00", "cidr": "10.0.0.1"})

    assert response.status_code == 400, f"{method.upper()} {route.path}: {response.status_code}"
    assert response.content.decode().startswith("name: The text holds a NUL character")


@pytest.mark.parametrize("route", sorted(SITE_JSON_ROUTES))
def test_a_site_json_route_sent_a_multipart_form_answers_400_not_500(route, alice, acme):
    """The middleware reads the form; the view can still read the body (not JSON: a 400)."""
    client = Client()
    client.force_login(alice)
    url = url_for(next(r for r in ROUTES if r.name == route), acme)

    response = client.post(url, {"name": "Acme"})  # multipart/form-data, as a browser's form posts

    assert response.status_code == 400, f"{url}: {response.status_code}"
    assert "not valid JSON" in response.content.decode()


def test_an_api_form_body_is_refused_unread(alice_api):
    """The API reads JSON only: a form body, NUL or not, is a 415 and nothing of it is stored."""
    response = alice_api.post("/api/v1/flows/", "name=Acme%00", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415


def test_a_nul_in_the_url_path_is_a_400(alice_api):
    response = alice_api.get("/internal/v1/business%00hours/")

    assert response.status_code == 400
    assert "path" in response.json()


def test_a_nul_in_a_header_is_a_400_naming_it(alice_api):
    response = alice_api.post("/api/v1/executions/", {}, format="json", HTTP_IDEMPOTENCY_KEY="key\x00")

    assert response.status_code == 400
    assert response.json() == {
        "Idempotency-Key header": ["The text holds a NUL character (U+0000), which cannot be stored; remove it."]
    }


def test_a_query_string_in_an_odd_charset_cannot_smuggle_a_lone_surrogate(alice, acme):
    """Django decodes the query string in the request's declared charset: UTF-7 makes "+2AA-" U+D800."""
    client = Client()
    client.force_login(alice)

    response = client.get("/flows/?label=%2B2AA-", CONTENT_TYPE="text/plain; charset=utf-7")

    assert response.status_code == 400
    assert response.content.decode() == (
        "label: The text holds an unpaired surrogate (U+D800), which cannot be stored; remove it."
    )


def test_a_json_body_in_an_odd_charset_cannot_smuggle_a_lone_surrogate(alice_api):
    response = alice_api.post("/api/v1/flows/", b'{"name": "+2AA-"}', content_type="application/json; charset=utf-7")

    assert response.status_code == 400
    assert response.json() == {
        "name": ["The text holds an unpaired surrogate (U+D800), which cannot be stored; remove it."]
    }
