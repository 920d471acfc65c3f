"""Walks the access log's hash chain and names the first record that breaks it.

What each break means, checked in this order for each record in ``seq`` order:

- its own hash does not match its content: the record was **edited**;
- its ``seq`` skips numbers: the records in between were **deleted**;
- its link (``prev_hash``) does not name the record before it, and
  - names the record two before: the record before it was **inserted**;
  - names a record further on: records were **reordered**;
  - names no record at all: a record before it was **deleted** (and the rest renumbered).

A chain rewritten from some record to its end by someone who can write the database verifies
again; an anchor (the head's seq and hash, kept outside the database: ``audit head``) catches that,
and so does any later record whose link no longer matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.audit.events import GENESIS, StoredEvent, event_hash
from gateway.audit.store import AuditStore

_PAGE = 5000
_LOOKAHEAD = 5000


class Tampering(Enum):
    """The kinds of break ``verify`` names."""

    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
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
    """Check every record's hash and link; with ``anchor`` also that record ``seq`` has ``hash``."""
    expected_seq = 1
    previous, before_previous = GENESIS, None
    checked = 0
    head = (0, GENESIS)
    anchor_seen = anchor is None
    after = 0
    while True:
        page = await store.scan(after, _PAGE)
        if not page:
            break
        for index, record in enumerate(page):
            problem = _check(record, expected_seq, previous, before_previous)
            if problem is None and record.prev_hash != previous:
                later = page[index + 1 :] + await store.scan(page[-1].seq, _LOOKAHEAD)
                problem = _link_break(record, previous, before_previous, later)
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
        after = page[-1].seq
    if not anchor_seen and anchor is not None:
        problem = Break(anchor[0], Tampering.DELETED, "the anchored record is gone")
        return Report(checked, head[0], head[1], problem)
    return Report(checked, head[0], head[1], None)


def _check(
    record: StoredEvent, expected_seq: int, previous: str, before_previous: str | None
) -> Break | None:
    if event_hash(record.event, record.prev_hash) != record.hash:
        return Break(record.seq, Tampering.EDITED, "its content does not match its hash")
    if record.seq != expected_seq:
        missing = (
            f"{expected_seq}"
            if record.seq == expected_seq + 1
            else (f"{expected_seq}-{record.seq - 1}")
        )
        return Break(expected_seq, Tampering.DELETED, f"record(s) {missing} are missing")
    return None


def _link_break(
    record: StoredEvent, previous: str, before_previous: str | None, later: list[StoredEvent]
) -> Break:
    if before_previous is not None and record.prev_hash == before_previous:
        return Break(
            record.seq - 1, Tampering.INSERTED, "it is not linked into the chain by its successor"
        )
    if any(candidate.hash == record.prev_hash for candidate in later):
        return Break(record.seq, Tampering.REORDERED, "it links to a record stored after it")
    return Break(
        record.seq, Tampering.DELETED, "the record it links to is gone (deleted or rewritten)"
    )
