"""The layout rules of CONTRIBUTING.md that a reviewer would otherwise have to remember (issue 18)."""

from __future__ import annotations

import ast

from app import PROJECT_ROOT

ROUTES = PROJECT_ROOT / "app" / "routes"


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):  # also imports inside functions
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _route_area(path) -> str:
    """`app.routes.review` for app/routes/review.py; `app.routes.classes` for every file of that package."""
    relative = path.relative_to(ROUTES).with_suffix("")
    return "app.routes." + relative.parts[0]


def test_no_route_module_imports_another_route_module():
    """Shared pieces live outside app/routes: authorisation in app/access.py, the reader page in app/reader.py,
    the end of every sign-in in app/signing_in.py. A route package (app/routes/classes/) shares pieces among its
    own files only."""
    offenders = {}
    for path in sorted(ROUTES.rglob("*.py")):
        if path == ROUTES / "__init__.py":
            continue
        area = _route_area(path)
        outside = sorted(
            m for m in imported_modules(path) if m.startswith("app.routes") and m.split(".")[:3] != area.split(".")
        )
        if outside:
            offenders[str(path.relative_to(ROUTES))] = outside
    assert offenders == {}


def test_route_packages_keep_their_files_small():
    """An area that outgrew one file became a package along its seams; no file of a route package grows back."""
    long_files = {
        str(path.relative_to(ROUTES)): lines
        for path in ROUTES.rglob("*.py")
        if path.parent != ROUTES and (lines := len(path.read_text().splitlines())) > 300
    }
    assert long_files == {}


def test_services_never_import_routes_or_templates():
    """Services are plain functions the CLI and the jobs call too: no HTTP routes, no page rendering."""
    offenders = {}
    for path in sorted((PROJECT_ROOT / "app" / "services").rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if m.startswith(("app.routes", "app.templating", "fastapi")))
        if bad:
            offenders[path.name] = bad
    assert offenders == {}
