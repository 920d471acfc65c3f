"""Application logs as one JSON object a line (or one plain line), with the request's id on
every line.

The standard library's ``logging`` stays the API: every module already logs through it, and so do
uvicorn, aiohttp and asyncpg. structlog only renders: its ``ProcessorFormatter`` turns each
record into a line, adds the fields bound for the current request (``request_id``, by
``bind_request``; contextvars, so the upstream searches a request starts carry it too) and the
``extra=`` fields of the record, and stamps the time. The text format renders the same fields
as ``key=value`` after the time, level, logger and message. That is less code than a formatter
of our own and keeps the one logging API; a structlog-native logger would add a second one.

Two guards against patient data reaching a log platform, which only the access log may hold:

- an exception is rendered as its type and stack frames, never its message (graphql-core's and
  the drivers' messages can quote a value, such as an identity number);
- a run of 11 or more digits (the shape of a Norwegian identity number) left in any field is
  masked (``gateway/ops/masking.py``). The code never logs one; this is the net under a mistake,
  not the rule.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, Literal

import orjson
import structlog
from structlog.typing import EventDict, WrappedLogger

from gateway.ops.masking import mask_identity_numbers


def _exception_without_message(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        exc_type, _exc, tb = exc_info
        if exc_type is not None:
            event["exception"] = exc_type.__name__
            event["stack"] = "".join(traceback.format_tb(tb))
    return event


def _mask_identity_numbers(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # Every field, not only the message: request ids, operation names and paths (aliases)
    # come from clients.
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask_identity_numbers(value)
        elif isinstance(value, list | tuple):
            event[key] = [
                mask_identity_numbers(item) if isinstance(item, str) else item for item in value
            ]
    return event


def _add_pid(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    event["pid"] = os.getpid()  # which worker, when several serve one port
    return event


def _drop_uvicorn_colours(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's terminal variant of the message
    return event


def _dumps(event: MutableMapping[str, Any], **_kw: Any) -> str:
    return orjson.dumps(event, default=str).decode()


_LOGFMT = structlog.processors.LogfmtRenderer(bool_as_flag=False)


def _render_text(logger: WrappedLogger, name: str, event: EventDict) -> str:
    """``TIME LEVEL LOGGER MESSAGE key=value …`` (a value quoted when it holds a space), then
    an exception's stack on the lines below."""
    head = [
        str(event.pop("ts", "")),
        str(event.pop("level", "")).upper(),
        str(event.pop("logger", "")),
        str(event.pop("event", "")),
    ]
    stack = event.pop("stack", None)
    for key, value in event.items():
        if isinstance(value, list | tuple):
            event[key] = ",".join(str(item) for item in value)
    line = " ".join([*head, _LOGFMT(logger, name, event)]).rstrip()
    return f"{line}\n{str(stack).rstrip()}" if stack else line


def _formatter(renderer: Any) -> logging.Formatter:
    """The guards and fields every line gets, then ``renderer``."""
    pre_chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _add_pid,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_uvicorn_colours,
            _exception_without_message,
            _mask_identity_numbers,
            renderer,
        ],
    )


def json_formatter() -> logging.Formatter:
    """One JSON object a line (``ops.log_format=json``, the default)."""
    return _formatter(structlog.processors.JSONRenderer(serializer=_dumps))


def text_formatter() -> logging.Formatter:
    """One plain line a record with the same fields as the JSON lines, as ``key=value``
    (``ops.log_format=text``)."""
    return _formatter(_render_text)


def configure_logging(level: str, log_format: Literal["json", "text"]) -> None:
    """Send every logger's records to stderr in ``log_format`` (the process's one setup)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else text_formatter())
    # Fields no line shows; the pid is added by the formatter (``_add_pid``).
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def bind_request(request_id: str) -> None:
    """Put ``request_id`` on every line logged by this request (and the tasks it starts)."""
    structlog.contextvars.bind_contextvars(request_id=request_id)
