"""Refuse text the database cannot store in the URL path, headers, the query string and form fields.

JSON bodies are judged where they are parsed (`accounts.api.parsers.JSONInputParser` for the
API, `read_json_input` for the site's JSON posts); everything else a client sends reaches the
views through headers and Django's QueryDicts, checked here once for every route, site and
API alike. Lone surrogates are checked too: Django decodes bad bytes to U+FFFD, but in the
charset the request declares, and UTF-7 turns valid bytes into one.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from phonon.errors import is_api_request
from phonon.lib.storable import first_unstorable_field, unstorable_problem

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class StorableInputMiddleware:
    """A 400 naming the field (or "path") instead of a database error later on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self.first_refused_field(request)
        if refused is None:
            return self.get_response(request)
        name, problem = refused
        if is_api_request(request):
            return JsonResponse({name: [problem]}, status=400)
        return HttpResponseBadRequest(f"{name}: {problem}", content_type="text/plain; charset=utf-8")

    @staticmethod
    def first_refused_field(request: HttpRequest) -> tuple[str, str] | None:
        problem = unstorable_problem(request.path_info)
        if problem:
            return "path", problem
        fields = [(f"{name} header", [value]) for name, value in request.headers.items()]
        fields += request.GET.lists()
        # Site forms. The API reads JSON only (its one reader checks it) and answers a form body 415
        # unread; parsing one here would consume the stream before DRF could say so.
        if request.method == "POST" and request.content_type in FORM_TYPES and not is_api_request(request):
            # The body first: parsing multipart consumes the stream, and a view that reads JSON (the
            # designer's) reads the body; read once here, it stays there (Django keeps it).
            _ = request.body
            fields += request.POST.lists()
        return first_unstorable_field(fields)
