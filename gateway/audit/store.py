"""The access-log store: what SQLite and PostgreSQL both provide, and the queries they share.

A store appends one batch of events (and their privacy alerts) in one transaction, chaining each
event to the last one stored; reads the chain in order for verification; and answers the
access-log and alert queries. Writers serialise on the chain head inside the transaction
(SQLite's write lock, PostgreSQL's advisory lock), so several processes can share one store
and the chain stays a single line.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.audit.events import COLUMNS, AuditEvent, PrivacyAlert, StoredEvent

EVENT_COLUMNS = ("seq", *COLUMNS, "prev_hash", "hash")
ALERT_COLUMNS = (
    "at",
    "access_id",
    "actor_name",
    "actor_hpr",
    "legal_entity",
    "organisation_name",
    "purpose",
    "basis",
    "text",
)


class AuditUnavailable(Exception):
    """The store could not make events durable; the request must fail closed."""


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


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A privacy alert with its place in the alert list."""

    id: int
    alert: PrivacyAlert


def log_query_sql(query: LogQuery) -> tuple[str, list[object]]:
    """The accesses (one per request) on a page, newest first: ``(access_id, last_seq)`` rows.

    Written with ``?`` placeholders; PostgreSQL's store numbers them.
    """
    where = ["patient = ?"]
    params: list[object] = [query.patient]
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
    async def scan(self, after_seq: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` stored events with ``seq > after_seq``, in seq order."""

    @abc.abstractmethod
    async def accesses(self, query: LogQuery) -> list[list[StoredEvent]]:
        """One page of a patient's accesses, newest first, each the request's events in order."""

    @abc.abstractmethod
    async def alerts(self, first: int, before_id: int | None) -> list[StoredAlert]:
        """Privacy alerts, newest first."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise ``AuditUnavailable`` unless the store answers."""
