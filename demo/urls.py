"""/demo-api/: the demo order system and the flow-end receiver.

Served only while the DEMO_API setting is on (by default when DEBUG is, so `make run` has it).
The demo is public by design: anyone may read the receiver's page of flow-end deliveries, post
to it, or hold a web process for 10 s at `slow/`, which a production site must not offer. With
the setting off every route answers 404; it is read per request, so tests can switch it.
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from . import api, receiver


def demo_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view while DEMO_API is on, else a 404 (`wraps` keeps the view's csrf_exempt mark)."""

    @functools.wraps(view)
    def served_when_demo_is_on(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.DEMO_API:
            raise Http404("The demo API is off; set DEMO_API=true to serve it.")
        return view(request, *args, **kwargs)

    return served_when_demo_is_on


urlpatterns = [
    path(str(pattern.pattern), demo_only(pattern.callback), name=pattern.name)
    for pattern in (*api.urlpatterns, *receiver.urlpatterns)
]
