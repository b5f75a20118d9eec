"""Project-wide 404/500 handlers: JSON under /api/ and /internal/, the usual pages elsewhere."""

from django.http import HttpRequest, JsonResponse
from django.views import defaults

API_PREFIXES = ("/api/", "/internal/")


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def page_not_found(request, exception):
    if is_api_request(request):
        return JsonResponse({"detail": f"No API endpoint at {request.path}; see /api/docs/ for the list."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_request(request):
        return JsonResponse(
            {"detail": "Server error; the details are in the server log. Please retry later."}, status=500
        )
    return defaults.server_error(request)
