"""Every route of /api/v1/ and /internal/v1/ needs a token and honours the IP whitelist; every
write of /api/v1/ refuses a field it does not take.

Walks the resolver like test_cross_account.py, so a new endpoint that forgot the default
authentication or permission (AccountAccess), or a strict body (accounts.api.strict), fails here.
"""

import pytest
from django.urls import get_resolver, reverse
from rest_framework.test import APIClient

from accounts.tests.factories import make_whitelist_entry
from tests.test_cross_account import FACTORIES, Route, url_kwargs, walk

API_ROUTES = [
    route
    for route in {r.name or r.path: r for r in walk(get_resolver())}.values()
    if route.path.startswith(("api/v1/", "internal/v1/"))
]


# Each write of /api/v1/ with its method (internal functions read any flow variable sent: not here).
API_WRITES = [
    (route, method)
    for route in API_ROUTES
    if route.path.startswith("api/v1/")
    for method in route.methods()[0]
    if method in ("post", "put", "patch")
]


def url_for(route: Route) -> str:
    kwargs = {kwarg: (999999 if kwarg in route.id_kwargs else "anything") for kwarg in route.kwargs}
    return reverse(route.name, kwargs=kwargs)


def test_the_walker_finds_the_api_routes():
    assert {"account", "ip-whitelist-list", "ip-whitelist-detail"} <= {route.name for route in API_ROUTES}


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.name or route.path)
def test_it_needs_a_token(route: Route, db):
    for method in route.methods()[0]:
        response = getattr(APIClient(), method)(url_for(route), {}, format="json")
        assert response.status_code == 401, f"{method.upper()} {route.path} without a token: {response.status_code}"


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: route.name or route.path)
def test_it_refuses_addresses_outside_the_whitelist(route: Route, alice_api, acme):
    make_whitelist_entry(acme, cidr="203.0.113.0/24")
    for method in route.methods()[0]:
        response = getattr(alice_api, method)(url_for(route), {}, format="json", REMOTE_ADDR="192.0.2.1")
        assert response.status_code == 403, f"{method.upper()} {route.path} from outside: {response.status_code}"
        assert "192.0.2.1" in response.json()["detail"]


@pytest.mark.parametrize(("route", "method"), API_WRITES, ids=lambda value: getattr(value, "name", value))
def test_every_write_refuses_an_unknown_field_by_name(route: Route, method: str, alice_api, acme):
    """Ignored, a misspelt or misplaced field would look accepted; actions that take no body too."""
    kwargs = url_kwargs(route, FACTORIES[route.name](acme)) if route.id_kwargs else {}

    response = getattr(alice_api, method)(reverse(route.name, kwargs=kwargs), {"unknown_field": 1}, format="json")

    assert response.status_code == 400, f"{method.upper()} {route.path} with an unknown field: {response.status_code}"
    assert "unknown_field" in response.json(), f"{method.upper()} {route.path}: {response.json()}"
