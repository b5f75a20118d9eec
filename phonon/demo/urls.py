"""/demo-api/: the demo modules' routes, those that exist yet (they are written separately)."""

import importlib

from django.urls import include, path

DEMO_MODULES = ("phonon.demo.api", "phonon.demo.receiver")


def demo_urlpatterns() -> list:
    patterns = []
    for module_name in DEMO_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:  # the module exists but something it imports is missing
                raise
            continue
        patterns.append(path("", include(module)))
    return patterns


urlpatterns = demo_urlpatterns()
