"""Fixtures the end-to-end tests share beyond ``tests/conftest.py``."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from gateway.ops.logs import json_formatter


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as the gateway formats it in production."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
