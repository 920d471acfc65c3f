"""The packages' layering: ``gateway`` is the machinery, ``resolvers`` the registries and the
views made of them. Machinery never imports a resolver at run time, except where the app is
assembled (the app factory and the schema), so any part of ``gateway`` can be read, tested and
replaced without the registries behind it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLY = {"gateway/app.py", "gateway/graphql/schema.py"}


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Modules imported outside ``if TYPE_CHECKING:`` blocks (type-only imports cost nothing at
    run time and make no dependency)."""
    found: set[str] = set()

    def walk(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and ast.unparse(node.test) in (
                "TYPE_CHECKING",
                "typing.TYPE_CHECKING",
            ):
                walk(node.orelse)
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.ImportFrom) and child.module:
                    found.add(child.module)
                elif isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)

    walk(tree.body)
    return found


def test_machinery_imports_no_resolver_except_where_the_app_is_assembled() -> None:
    offenders = {}
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        imports = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        resolvers = sorted(m for m in imports if m == "resolvers" or m.startswith("resolvers."))
        if resolvers and name not in ASSEMBLY:
            offenders[name] = resolvers
    assert offenders == {}


def test_the_check_sees_an_import_inside_a_function_and_skips_type_only_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from resolvers.clients import SourceClients\n"
        "def f():\n    from resolvers.patient import Patient\n"
    )
    assert _runtime_imports(ast.parse(source)) == {"typing", "resolvers.patient"}
