"""The benchmark's gateway without an access-log write can never be deployed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLED = ("gateway", "resolvers", "mocks")


def test_bench_is_not_part_of_the_installed_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert all(pattern.rstrip("*") in INSTALLED for pattern in included)


def test_no_installed_module_refers_to_the_benchmark() -> None:
    offenders = [
        path.relative_to(ROOT)
        for package in INSTALLED
        for path in (ROOT / package).rglob("*.py")
        if "bench." in path.read_text() or "import bench" in path.read_text()
    ]
    assert offenders == []
