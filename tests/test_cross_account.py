"""Another account's id is a 404 on every route that takes one: API, internal API and site.

The test walks the URL resolver, so a new route is covered the day it is added. Each app
provides the objects, in `<app>/tests/factories.py`:

    CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model | dict]] = {
        "webhook-detail": make_webhook,               # API route names have no namespace
        "webhooks:edit": make_webhook,                # site routes: "namespace:name"
    }

- The key is the route's full name, as `reverse()` takes it.
- The factory gets an Account and creates one object in it. Return the model instance when the
  route's id kwargs (`pk`, `id`, `*_pk`, `*_id`) all take its pk; return a dict of URL kwargs
  when the route needs other values (e.g. `{"flow_pk": flow.pk, "pk": step.pk}`).
- A route with an id kwarg and no factory fails here, naming the route; so does a factory whose
  key names no route.

For each such route the object is made in globex (charlie's account). charlie must be able to
GET it (so the factory really makes a reachable object), and alice, in acme, gets 404 for GET and
for every write method the view allows; the object still exists afterwards.
"""

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Not tenant data: the admin is for staff, the schema/docs are public, the demo API is public.
EXCLUDED_PREFIXES = ("admin/", "api/schema/", "api/docs/", "demo-api/", "summernote/", "static/")
API_PREFIXES = ("api/", "internal/")
ID_KWARG = re.compile(r"^(pk|id|.+_pk|.+_id)$")
WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    path: str  # the regex text of every level, joined, for messages
    name: str | None  # "namespace:name", as reverse() takes it
    kwargs: tuple[str, ...]
    callback: Callable

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API_PREFIXES)

    @property
    def id_kwargs(self) -> tuple[str, ...]:
        return tuple(k for k in self.kwargs if ID_KWARG.match(k))

    def methods(self) -> tuple[tuple[str, ...], bool]:
        """(methods, certain): what the view answers; uncertain for plain function views."""
        actions = getattr(self.callback, "actions", None)  # a DRF viewset route
        if actions:  # DRF adds "head" to this dict at the first request: leave it out, as below
            return tuple(m for m in actions if m not in ("head", "options")), True
        view_class = getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)
        if view_class is not None:
            names = [m for m in view_class.http_method_names if m not in ("head", "options", "trace")]
            return tuple(m for m in names if hasattr(view_class, m)), True
        return ("get", *WRITE_METHODS), False


def walk(resolver: URLResolver, prefix: str = "", namespace: str = "", kwargs: tuple = ()) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        text = prefix + str(entry.pattern).lstrip("^").rstrip("$")
        names = kwargs + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, text, inner, names)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Route(text, name, names, entry.callback)


def tenant_routes_with_ids() -> list[Route]:
    routes = [r for r in walk(get_resolver()) if r.id_kwargs and not r.path.startswith(EXCLUDED_PREFIXES)]
    return list({(r.name or r.path): r for r in routes}.values())  # format-suffix duplicates share a name


def load_factories() -> dict[str, Callable]:
    factories: dict[str, Callable] = {}
    for app_config in apps.get_app_configs():
        if not app_config.path.startswith(str(settings.BASE_DIR)):
            continue
        module_name = f"{app_config.name}.tests.factories"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name in (module_name, f"{app_config.name}.tests"):
                continue
            raise
        for key, factory in getattr(module, "CROSS_ACCOUNT_FACTORIES", {}).items():
            assert key not in factories, f"Two apps register a cross-account factory for {key!r}."
            factories[key] = factory
    return factories


ROUTES = tenant_routes_with_ids()
FACTORIES = load_factories()


def url_kwargs(route: Route, made: Model | dict) -> dict:
    if isinstance(made, dict):
        return made
    return {kwarg: made.pk for kwarg in route.id_kwargs}


def send(client, method: str, url: str, is_api: bool):
    if is_api:
        return getattr(client, method)(url, {}, format="json")
    return getattr(client, method)(url)


def test_the_walker_finds_the_routes_it_must_cover():
    names = {route.name for route in ROUTES}
    assert {"ip-whitelist-detail", "accounts:ip-whitelist-delete", "accounts:api-token-revoke"} <= names


def test_every_factory_names_an_existing_route():
    names = {route.name for route in ROUTES}
    stale = sorted(set(FACTORIES) - names)
    assert not stale, f"CROSS_ACCOUNT_FACTORIES names routes that do not exist (or take no id): {stale}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.name or route.path)
def test_another_accounts_object_is_not_found(route: Route, alice, alice_api, charlie, charlie_api, globex):
    assert route.name, f"The route {route.path} takes an id but has no name; name it so a factory can cover it."
    factory = FACTORIES.get(route.name)
    assert factory is not None, (
        f"No cross-account factory for the route {route.name!r} ({route.path}). Add it to "
        "CROSS_ACCOUNT_FACTORIES in <app>/tests/factories.py (see this module's docstring)."
    )
    made = factory(globex)
    url = reverse(route.name, kwargs=url_kwargs(route, made))
    methods, certain = route.methods()
    if route.is_api:
        alice_client, charlie_client = alice_api, charlie_api
    else:
        alice_client, charlie_client = Client(), Client()
        alice_client.force_login(alice)
        charlie_client.force_login(charlie)

    if "get" in methods and certain:
        owner_status = send(charlie_client, "get", url, route.is_api).status_code
        assert owner_status != 404, f"{route.name}: the factory's object is not reachable by its own account."

    for method in methods:
        response = send(alice_client, method, url, route.is_api)
        allowed = {404} if certain or method == "get" else {404, 405}
        assert response.status_code in allowed, f"{method.upper()} {url} as another account: {response.status_code}"

    if isinstance(made, Model):
        assert type(made).objects.filter(pk=made.pk).exists(), f"{route.name}: another account's write went through."
