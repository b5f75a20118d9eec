"""The site icon: linked from every page, and /favicon.ico (asked for regardless) answers too."""

from pathlib import Path

from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

ICON_LINK = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def test_every_page_links_the_svg_favicon(alice_client):
    assert ICON_LINK in alice_client.get(reverse("accounts:home")).content.decode()
    assert ICON_LINK in Client().get(reverse("login")).content.decode()  # signed out too
    assert Path(finders.find("favicon.svg")).read_text().startswith("<svg ")


def test_favicon_ico_redirects_to_the_svg_instead_of_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"
