"""Every third-party package the code imports is one ``pyproject.toml`` declares.

A package that only arrives as a dependency of a dependency (``yarl`` through aiohttp,
``cross_web`` through strawberry) can leave with that dependency's next release, and the gateway
breaks on an upgrade nobody made to it. The shipped packages may use ``[project.dependencies]``
only; the tests and the benchmark may also use the ``dev`` extra.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = frozenset({"gateway", "resolvers", "mocks", "tests", "bench"})
SHIPPED = ("gateway", "resolvers", "mocks")
DEVELOPMENT = ("tests", "bench")


# The distribution name at the start of a PEP 508 requirement ("pyjwt[crypto]", "a==1; marker").
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyJWT`` is ``pyjwt``, ``a_b`` is ``a-b``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extra: str | None = None) -> frozenset[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return frozenset(_canonical(_name_of(spec)) for spec in specs)


def _name_of(requirement: str) -> str:
    found = _REQUIREMENT_NAME.match(requirement.strip())
    assert found is not None, requirement
    return found.group()


def _imports(package: str) -> Iterator[tuple[str, str]]:
    """``(file, module)`` for every absolute import in ``package``, however deep or conditional."""
    for path in sorted((ROOT / package).rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield str(path.relative_to(ROOT)), alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if _is_namespace(node.module):
                    # ``from opentelemetry import trace``: the names are the modules to place.
                    for alias in node.names:
                        yield str(path.relative_to(ROOT)), f"{node.module}.{alias.name}"
                else:
                    yield str(path.relative_to(ROOT)), node.module


def _is_namespace(module: str) -> bool:
    """True for a namespace package several distributions share, which no file of its own
    attributes to one of them."""
    if module.partition(".")[0] in FIRST_PARTY | sys.stdlib_module_names:
        return False
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.origin is None and bool(spec.submodule_search_locations)


@cache
def _packages() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distributions_of(module: str) -> set[str]:
    """The installed distributions that provide ``module``."""
    candidates = _packages().get(module.partition(".")[0], [])
    if len(candidates) <= 1:
        return {_canonical(c) for c in candidates}
    # A namespace package several distributions share (opentelemetry): the one whose files
    # hold the module itself.
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return set()
    origin = Path(spec.origin).resolve()
    owners = set()
    for name in candidates:
        dist = importlib.metadata.distribution(name)
        if any(Path(str(dist.locate_file(f))).resolve() == origin for f in dist.files or []):
            owners.add(_canonical(name))
    return owners


def _undeclared(packages: tuple[str, ...], allowed: frozenset[str]) -> list[str]:
    problems = []
    for file, module in (i for package in packages for i in _imports(package)):
        top = module.partition(".")[0]
        if top in FIRST_PARTY or top in sys.stdlib_module_names:
            continue
        owners = _distributions_of(module)
        if not owners:
            problems.append(f"{file}: {module} is not installed")
        elif not owners & allowed:
            problems.append(f"{file}: {module} comes from {sorted(owners)}, not declared")
    return sorted(set(problems))


def test_the_shipped_packages_import_only_declared_dependencies() -> None:
    assert _undeclared(SHIPPED, _declared()) == []


def test_the_tests_and_the_benchmark_import_only_declared_or_dev_dependencies() -> None:
    assert _undeclared(DEVELOPMENT, _declared() | _declared("dev")) == []


@pytest.mark.parametrize(
    ("module", "distribution"),
    [
        ("yarl", "yarl"),
        ("jwt", "pyjwt"),
        ("opentelemetry.sdk.trace", "opentelemetry-sdk"),
        ("opentelemetry.trace", "opentelemetry-api"),
    ],
)
def test_modules_map_to_the_distribution_that_ships_them(module: str, distribution: str) -> None:
    # Guards the check itself: a mapping that found nothing would let every import pass.
    assert _distributions_of(module) == {distribution}
