"""Project-wide 404/500 handlers: JSON under /api/ and /internal/, the usual pages elsewhere."""

from django.views import defaults

from accounts.api.errors import api_not_found, api_server_error, is_api_request


def page_not_found(request, exception):
    if is_api_request(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api_request(request):
        return api_server_error(request)
    return defaults.server_error(request)
