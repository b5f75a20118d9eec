"""The schema and the interactive docs work with no internet."""

import re

import pytest
import yaml


def test_the_schema_lists_the_account_endpoints_and_the_token_scheme(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert {"/api/v1/account/", "/api/v1/ip-whitelist/", "/api/v1/ip-whitelist/{id}/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["TokenAuth"]["name"] == "Authorization"


def test_the_docs_page_loads_only_local_files_and_they_are_served(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    urls = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', page)  # files, not links
    assert urls, "the docs page should load Swagger UI's files"
    assert not re.search(r"https?://", page.replace("http://www.w3.org", "")), "the docs page names a remote URL"
    for url in urls:
        assert url.startswith("/static/"), url
        assert client.get(url).status_code == 200, url


def test_the_docs_page_links_back_to_the_site(client, db):
    page = client.get("/api/docs/").content.decode()
    assert '<a href="/" id="back-to-site">← Back to Phonon webhooks</a>' in page


def test_enums_have_their_own_names(client, db):
    schemas = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    assert {"ExecutionStatusEnum", "ReportOutcomeEnum"} <= set(schemas)
    assert not [name for name in schemas if re.fullmatch(r"\w*\d{3}Enum", name)]


# --- the schema as a contract (Schemathesis checks it against the server: test_api_contract) ---


@pytest.fixture
def schema(client, db) -> dict:
    return yaml.safe_load(client.get("/api/schema/").content)


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def test_every_secured_operation_documents_401_and_403(schema):
    missing = [
        f"{method} {path}"
        for path, method, operation in operations(schema)
        if operation.get("security") and not {"401", "403"} <= set(operation["responses"])
    ]
    assert missing == []


def test_operations_document_400_for_input_and_404_for_ids_and_pages(schema):
    for path, method, operation in operations(schema):
        responses = set(operation["responses"])
        if "{" in path or any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
            assert "404" in responses, f"{method} {path}"
        if "requestBody" in operation:
            assert {"400", "415"} <= responses, f"{method} {path}"
    errors = schema["paths"]["/api/v1/webhooks/{id}/"]["get"]["responses"]["404"]["content"]["application/json"]
    assert errors["schema"] == {"$ref": "#/components/schemas/Error"}


def test_starting_an_execution_documents_the_idempotency_key_and_its_answers(schema):
    post = schema["paths"]["/api/v1/executions/"]["post"]
    assert {"200", "202", "400", "409"} <= set(post["responses"])
    header = next(parameter for parameter in post["parameters"] if parameter["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["schema"]["maxLength"] == 255


def test_the_call_is_described_field_by_field_and_unknown_fields_are_refused(schema):
    components = schema["components"]["schemas"]
    request = components["ExecutionCreateRequest"]
    assert request["additionalProperties"] is False
    call = components["CallRequest"]
    assert call["additionalProperties"] is False
    assert call["properties"]["cli"]["type"] == "string"
    assert call["properties"]["incoming"]["type"] == "boolean"
    assert call["properties"]["duration"]["type"] == "integer"


def test_the_executions_filters_belong_to_the_list_only(schema):
    names = lambda operation: {parameter["name"] for parameter in operation.get("parameters", [])}  # noqa: E731
    assert {"flow", "status", "since", "until"} <= names(schema["paths"]["/api/v1/executions/"]["get"])
    assert names(schema["paths"]["/api/v1/executions/{id}/"]["get"]) == {"id"}
    flow = next(p for p in schema["paths"]["/api/v1/reports/udf/"]["get"]["parameters"] if p["name"] == "flow")
    assert flow["schema"] == {"type": "integer", "minimum": 1}


def test_each_internal_function_has_its_own_path_with_only_its_methods(schema):
    internal = {path: set(methods) for path, methods in schema["paths"].items() if path.startswith("/internal/")}
    assert internal == {
        "/internal/v1/cli_pause_update/": {"post", "put"},
        "/internal/v1/business_hours_check/": {"get", "post"},
        "/internal/v1/caller_blocklist_check/": {"get", "post"},
    }
    query = schema["paths"]["/internal/v1/business_hours_check/"]["get"]["parameters"]
    assert {parameter["name"] for parameter in query} == {"hours", "days", "timezone"}


def test_enum_names_are_stable_not_hashed(schema):
    hashed = [name for name in schema["components"]["schemas"] if re.search(r"\d{3}Enum$", name)]
    assert hashed == [], "name them in SPECTACULAR_SETTINGS['ENUM_NAME_OVERRIDES']"
    assert "ExecutionStatusEnum" in schema["components"]["schemas"]


def test_a_throttled_view_documents_429_without_saying_so_itself(db):
    """The error answers come from what a view is, so a new route needs no schema work."""
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.response import Response
    from rest_framework.throttling import UserRateThrottle
    from rest_framework.views import APIView

    class Throttle(UserRateThrottle):
        rate = "5/minute"

    class Quiet(APIView):
        throttle_classes = []  # every API view is throttled by default (API_RATE); this one is not

        def get(self, request):
            return Response({})

    class Throttled(Quiet):
        throttle_classes = [Throttle]

    generator = SchemaGenerator(patterns=[path("quiet/", Quiet.as_view()), path("throttled/", Throttled.as_view())])
    paths = generator.get_schema(request=None, public=True)["paths"]

    assert set(paths["/throttled/"]["get"]["responses"]) == {"200", "401", "403", "429"}
    assert set(paths["/quiet/"]["get"]["responses"]) == {"200", "401", "403"}
