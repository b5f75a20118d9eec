"""The demo app sits on the top floor: the product must work (and its tests pass) without it.

phonon/urls.py includes its routes and settings list the app by name, never by import.
"""

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SKIPPED = {"demo", ".venv", "node_modules"}


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
