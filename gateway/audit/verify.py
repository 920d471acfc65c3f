"""Walks the access log's hash chain and names the first record that breaks it.

The chain is the events and the privacy alerts together, in ``seq`` order (a batch's alerts
follow its events). Every row of both tables is read, whatever its key. What each break means,
checked in this order for each record:

- its ``seq`` is below 1: a row **outside the chain** (the schema refuses those; one that is
  there was forged past it);
- a value is not of its column's type (SQLite's ``'yes'`` in a boolean), or its own hash does
  not match its content: the record was **edited**;
- its ``seq`` skips numbers: the records in between were **deleted**;
- its link (``prev_hash``) does not name the record before it, and
  - names the record two before: the record before it was **inserted**;
  - names a record further on: records were **reordered**;
  - names no record at all: a record before it was **deleted** (and the rest renumbered).

What the chain alone cannot prove: that its tail is all there, or that it is the chain that was
written. Someone who can write the database may delete the newest records, or rewrite the chain
from some record to its end (or all of it) with fresh hashes, and it verifies again. An anchor
(the head's seq and hash, kept outside the database: ``audit head``) catches both; so does any
later record whose link no longer matches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from gateway.audit.events import (
    GENESIS,
    AuditEvent,
    ChainedAlert,
    PrivacyAlert,
    StoredEvent,
    alert_hash,
    event_hash,
    wrong_types,
)
from gateway.audit.store import AuditStore

Record = StoredEvent | ChainedAlert
"""A record of the chain: an event or a privacy alert."""

_PAGE = 5000
_LOOKAHEAD = 5000


class Tampering(Enum):
    """The kinds of break ``verify`` names."""

    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    OUTSIDE_CHAIN = "outside-chain"
    ANCHOR_MISMATCH = "anchor-mismatch"


@dataclass(frozen=True, slots=True)
class Break:
    """The first place the chain is broken."""

    seq: int
    kind: Tampering
    detail: str


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of a verification."""

    checked: int
    head_seq: int
    head_hash: str
    problem: Break | None

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return self.problem is None


async def verify(store: AuditStore, anchor: tuple[int, str] | None = None) -> Report:
    """Check every record's key, types, hash and link; with ``anchor`` also that record
    ``seq`` has ``hash``."""
    expected_seq = 1
    previous, before_previous = GENESIS, None
    checked = 0
    head = (0, GENESIS)
    anchor_seen = anchor is None
    after: int | None = None  # the first page starts at the lowest key, whatever it is
    while True:
        page = await _page(store, after, _PAGE)
        if not page:
            break
        for index, record in enumerate(page):
            problem = _check(record, expected_seq)
            if problem is None and record.prev_hash != previous:
                later = page[index + 1 :] + await _page(store, _last_seq(page), _LOOKAHEAD)
                problem = _link_break(record, before_previous, later)
            if problem is not None:
                return Report(checked, head[0], head[1], problem)
            if anchor is not None and record.seq == anchor[0]:
                anchor_seen = True
                if record.hash != anchor[1]:
                    problem = Break(
                        record.seq, Tampering.ANCHOR_MISMATCH, "the anchored record changed"
                    )
                    return Report(checked, head[0], head[1], problem)
            checked += 1
            before_previous, previous = previous, record.hash
            expected_seq = record.seq + 1
            head = (record.seq, record.hash)
        after = _last_seq(page)
    if not anchor_seen and anchor is not None:
        problem = Break(anchor[0], Tampering.DELETED, "the anchored record is gone")
        return Report(checked, head[0], head[1], problem)
    return Report(checked, head[0], head[1], None)


async def _page(store: AuditStore, after: int | None, limit: int) -> list[Record]:
    """The first ``limit`` records of both tables after ``after``, in seq order. Each table's
    first ``limit`` rows hold every row of it among the first ``limit`` of the two."""
    events = await store.scan(after, limit)
    alerts = await store.scan_alerts(after, limit)
    records: list[Record] = [*events, *alerts]
    return sorted(records, key=_order)[:limit]


def _order(record: Record) -> float:
    # A seq of the wrong type (SQLite, constraints bypassed) sorts last; _check names it.
    return record.seq if type(record.seq) is int else math.inf


def _last_seq(page: list[Record]) -> int:
    return max(record.seq for record in page if type(record.seq) is int)


def _content(record: Record) -> AuditEvent | PrivacyAlert:
    return record.event if isinstance(record, StoredEvent) else record.alert


def _name(record: Record) -> str:
    return "record" if isinstance(record, StoredEvent) else "privacy alert"


def _check(record: Record, expected_seq: int) -> Break | None:
    if type(record.seq) is not int:
        return Break(expected_seq, Tampering.EDITED, f"a {_name(record)}'s seq has the wrong type")
    if record.seq < 1:
        return Break(
            record.seq,
            Tampering.OUTSIDE_CHAIN,
            f"a {_name(record)} at seq {record.seq}, outside the chain (it starts at 1)",
        )
    wrong = wrong_types(_content(record))
    wrong += [name for name in ("prev_hash", "hash") if type(getattr(record, name)) is not str]
    if wrong:
        return Break(
            record.seq,
            Tampering.EDITED,
            f"the {_name(record)}'s {', '.join(wrong)} hold(s) a value of the wrong type",
        )
    if _digest(record) != record.hash:
        return Break(
            record.seq, Tampering.EDITED, f"the {_name(record)}'s content does not match its hash"
        )
    if record.seq != expected_seq:
        missing = (
            f"{expected_seq}"
            if record.seq == expected_seq + 1
            else (f"{expected_seq}-{record.seq - 1}")
        )
        return Break(expected_seq, Tampering.DELETED, f"record(s) {missing} are missing")
    return None


def _digest(record: Record) -> str:
    if isinstance(record, StoredEvent):
        return event_hash(record.event, record.prev_hash)
    return alert_hash(record.alert, record.prev_hash)


def _link_break(record: Record, before_previous: str | None, later: list[Record]) -> Break:
    if before_previous is not None and record.prev_hash == before_previous:
        return Break(
            record.seq - 1, Tampering.INSERTED, "it is not linked into the chain by its successor"
        )
    if any(candidate.hash == record.prev_hash for candidate in later):
        return Break(record.seq, Tampering.REORDERED, "it links to a record stored after it")
    return Break(
        record.seq, Tampering.DELETED, "the record it links to is gone (deleted or rewritten)"
    )
