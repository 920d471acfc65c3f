"""The cache uses aiocache (and every other library) through public names only.

An upgrade of aiocache may change anything private (``_multi_get``, ``_set``, ``_cache``); this
fails first if the cache package reaches for a private name of any object but its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.upstream.cache

PACKAGE = Path(gateway.upstream.cache.__file__).parent


def _private_names_of_others(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") or (
            isinstance(node.value, ast.Name) and node.value.id == "self"
        ):
            continue
        # self._client._x is someone else's private name, too.
        found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_the_cache_package_uses_no_private_name_of_another_object() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    assert [name for path in modules for name in _private_names_of_others(path)] == []


def test_no_store_subclasses_an_aiocache_class() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base) for base in node.bases]
                assert not any(base.endswith("Cache") for base in bases), (path.name, bases)
