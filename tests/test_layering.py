"""The house's floors: apps import each other in one direction only, and nothing imports the demo.

The demo app sits on the top floor: the product must work (and its tests pass) without it;
phonon/urls.py includes its routes and settings list the app by name, never by import. Between
the other apps, a two-way pair would mean neither can be understood (or tested) alone; flows
tells reports about finished executions through a signal for that reason.
"""

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SKIPPED = {"demo", ".venv", "node_modules"}
APPS = ("phonon", "accounts", "webhooks", "phone_numbers", "flows", "reports", "demo")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_module_outside_the_demo_app_imports_it():
    importers = [
        str(path.relative_to(PROJECT))
        for path in PROJECT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(PROJECT).parts)
        and any(name == "demo" or name.startswith("demo.") for name in imported_modules(path))
    ]
    assert importers == []


def app_imports() -> dict[str, set[str]]:
    """For each app, the other apps its non-test code imports (migrations and tests left out)."""
    graph: dict[str, set[str]] = {app: set() for app in APPS}
    for app in APPS:
        for path in (PROJECT / app).rglob("*.py"):
            if {"tests", "migrations"} & set(path.relative_to(PROJECT).parts):
                continue
            for name in imported_modules(path):
                top = name.split(".")[0]
                if top in APPS and top != app:
                    graph[app].add(top)
    return graph


def test_no_two_apps_import_each_other():
    graph = app_imports()
    assert [(a, b) for a in APPS for b in graph[a] if a in graph[b] and a < b] == []


def test_the_project_package_imports_no_app():
    assert app_imports()["phonon"] == set()
