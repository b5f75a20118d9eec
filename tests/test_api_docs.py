"""The schema and the interactive docs work with no internet."""

import re

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
