"""The log formatters' guards: exceptions without their messages, identity numbers masked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from gateway.ops.logs import json_formatter, text_formatter

NIN = "12834122055"


@pytest.fixture(params=["json", "text"])
def formatted(request: pytest.FixtureRequest) -> Iterator[tuple[str, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    formatter = json_formatter() if request.param == "json" else text_formatter()
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logging_setup.{request.param}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield request.param, out
    finally:
        logger.removeHandler(handler)


def test_an_exception_is_logged_by_type_and_stack_never_by_message(
    formatted: tuple[str, io.StringIO],
) -> None:
    kind, out = formatted
    logger = logging.getLogger(f"test.logging_setup.{kind}")
    # As graphql-core words a bad variable: the message quotes the value.
    message = "Expected type 'NationalIdentityNumber', found: '" + NIN + "'"
    try:
        raise ValueError(message)
    except ValueError:
        logger.exception("resolving failed")
    text = out.getvalue()
    assert "ValueError" in text and "resolving failed" in text
    assert "test_logs.py" in text, "the stack is there"
    assert NIN not in text and "Expected type" not in text
    if kind == "json":
        line = orjson.loads(text)
        assert line["exception"] == "ValueError" and line["level"] == "error"


def test_an_identity_number_in_a_message_is_masked(formatted: tuple[str, io.StringIO]) -> None:
    kind, out = formatted
    logging.getLogger(f"test.logging_setup.{kind}").warning("read %s at 20261126", NIN)
    text = out.getvalue()
    assert NIN not in text
    assert "[11 digits]" in text and "20261126" in text, "shorter numbers stay"


def test_a_text_line_carries_the_records_fields_as_key_value() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(text_formatter())
    logger = logging.getLogger("test.logging_setup.text_fields")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(
            "request",
            extra={
                "operation": "PatientSummary",
                "codes": ["BLOCKED", "RESTRICTED"],
                "note": "a b",
            },
        )
    finally:
        logger.removeHandler(handler)
    line = out.getvalue().strip()
    assert " INFO test.logging_setup.text_fields request " in line
    assert "operation=PatientSummary" in line
    assert "codes=BLOCKED,RESTRICTED" in line
    assert 'note="a b"' in line, "a value with a space is quoted"
    assert "pid=" in line
