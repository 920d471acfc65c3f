"""The access-log store: what SQLite and PostgreSQL both provide, and the queries they share.

A store appends one batch of events (and their privacy alerts) in one transaction, chaining each
event to the last one stored; reads the chain in order for verification; and answers the
access-log and alert queries. Writers serialise on the chain head inside the transaction
(SQLite's write lock, PostgreSQL's advisory lock), so several processes can share one store
and the chain stays a single line.

The chain starts at ``seq`` 1: the schema refuses any other key, the queries read nothing
outside the chain, and ``verify`` reads every row whatever its key (``scan(None, …)``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.audit.events import (
    ALERT_COLUMNS,
    COLUMNS,
    AuditEvent,
    ChainedAlert,
    Outcome,
    PrivacyAlert,
    StoredEvent,
    event_from_row,
)

EVENT_COLUMNS = ("seq", *COLUMNS, "prev_hash", "hash")
STORED_ALERT_COLUMNS = ("id", "seq", *ALERT_COLUMNS, "prev_hash", "hash")
SCHEMA_VERSION = 2
"""Version 2 (this one): ``seq >= 1``, typed columns and chained alerts. Version 1 logs are
migrated when a store opens them (``sqlite_schema.py``, ``postgres_schema.py``)."""


class AuditUnavailable(Exception):
    """The store could not make events durable; the request must fail closed."""


class AuditInDoubt(AuditUnavailable):
    """The commit was sent and its answer lost: the events may be durable or not. The request
    fails closed all the same, and the writer marks the events ``NOT_DELIVERED``."""


@dataclass(frozen=True, slots=True)
class LogQuery:
    """A page of one patient's access log, newest first, with a privacy officer's filters."""

    patient: str
    first: int
    before_seq: int | None = None  # the cursor: the last seq of the previous page's last entry
    actor_hpr: str | None = None
    since: str | None = None
    until: str | None = None
    emergency_only: bool = False
    delivered_only: bool = True  # the patient's view: no ``NOT_DELIVERED`` events, nor theirs


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A privacy alert with its place in the alert list (``id``, the cursor) and in the chain."""

    id: int
    chained: ChainedAlert

    @property
    def alert(self) -> PrivacyAlert:
        """The alert itself."""
        return self.chained.alert


_NOT_DELIVERED = Outcome.NOT_DELIVERED.value
IN_CHAIN = "seq >= 1"
"""Every query of the log reads only rows of the chain (the schema refuses others)."""
DELIVERED = (
    f"outcome <> '{_NOT_DELIVERED}' AND NOT EXISTS (SELECT 1 FROM audit_events AS undelivered"
    f" WHERE undelivered.outcome = '{_NOT_DELIVERED}' AND undelivered.{IN_CHAIN}"
    " AND undelivered.access_id = audit_events.access_id"
    " AND undelivered.patient = audit_events.patient"
    " AND undelivered.field = audit_events.field AND undelivered.at = audit_events.at)"
)
"""An event whose data left the gateway: not a ``NOT_DELIVERED`` mark, nor marked by one."""


def log_query_sql(query: LogQuery) -> tuple[str, list[object]]:
    """The accesses (one per request) on a page, newest first: ``(access_id, last_seq)`` rows.

    Written with ``?`` placeholders; PostgreSQL's store numbers them.
    """
    where = ["patient = ?", IN_CHAIN]
    params: list[object] = [query.patient]
    if query.delivered_only:
        where.append(DELIVERED)
    if query.actor_hpr is not None:
        where.append("actor_hpr = ?")
        params.append(query.actor_hpr)
    if query.since is not None:
        where.append("at >= ?")
        params.append(query.since)
    if query.until is not None:
        where.append("at < ?")
        params.append(query.until)
    having = ""
    if query.emergency_only:
        where.append("emergency")
    if query.before_seq is not None:
        having = " HAVING MAX(seq) < ?"
        params.append(query.before_seq)
    params.append(query.first)
    sql = (
        f"SELECT access_id, MAX(seq) AS last_seq FROM audit_events WHERE {' AND '.join(where)}"
        f" GROUP BY access_id{having} ORDER BY last_seq DESC LIMIT ?"
    )
    return sql, params


class AuditStore(abc.ABC):
    """One access-log database."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, and create the tables and append-only guards if they are missing."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def append(self, events: Sequence[AuditEvent], alerts: Sequence[PrivacyAlert]) -> None:
        """Store the events, chained after the current head, and the alerts, in one transaction.

        Raises ``AuditUnavailable`` when they could not be made durable.
        """

    @abc.abstractmethod
    async def scan(self, after_seq: int | None, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` stored events with ``seq > after_seq`` (``None``: every row,
        whatever its key), in seq order."""

    @abc.abstractmethod
    async def scan_alerts(self, after_seq: int | None, limit: int) -> list[ChainedAlert]:
        """As ``scan``, for the privacy alerts."""

    @abc.abstractmethod
    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        """One page of a patient's accesses, newest first, each the request's events in order
        (with ``delivered_only``, only the events whose data left the gateway)."""

    @abc.abstractmethod
    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        """Privacy alerts, newest first."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise ``AuditUnavailable`` unless the store answers."""


def access_events_sql(query: LogQuery) -> str:
    """One access's events of the patient, in order: parameters ``access_id``, ``patient``."""
    delivered = f" AND {DELIVERED}" if query.delivered_only else ""
    return (
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events WHERE access_id = ? AND patient = ?"
        f" AND {IN_CHAIN}{delivered} ORDER BY seq"
    )


ALERTS_PAGE_SQL = (
    f"SELECT {', '.join(STORED_ALERT_COLUMNS)} FROM privacy_alerts WHERE id < ? AND {IN_CHAIN}"
    " ORDER BY id DESC LIMIT ?"
)
"""A page of alerts, newest first: parameters ``before_id``, ``limit``."""


def scan_sql(table: str, columns: Sequence[str], after_seq: int | None) -> str:
    """Rows of ``table`` in seq order, after a seq (parameters ``after_seq``, ``limit``) or, for
    ``None``, from the lowest key (parameter ``limit``)."""
    where = "" if after_seq is None else " WHERE seq > ?"
    return f"SELECT {', '.join(columns)} FROM {table}{where} ORDER BY seq LIMIT ?"


def stored_alert(values: Sequence[object]) -> StoredAlert:
    """An alert from its stored column values (``STORED_ALERT_COLUMNS``), types as stored."""
    alert = PrivacyAlert(*values[2:-2])  # type: ignore[arg-type]
    chained = ChainedAlert(values[1], alert, values[-2], values[-1])  # type: ignore[arg-type]
    return StoredAlert(values[0], chained)  # type: ignore[arg-type]


def stored_event(values: Sequence[object]) -> StoredEvent:
    """An event from its stored column values (``EVENT_COLUMNS``), types as stored."""
    return StoredEvent(
        values[0],  # type: ignore[arg-type]
        event_from_row(values[1:-2]),
        values[-2],  # type: ignore[arg-type]
        values[-1],  # type: ignore[arg-type]
    )
