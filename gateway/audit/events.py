"""What one access-log record holds, and how records are chained.

Each record carries the SHA-256 of its predecessor (``prev_hash``) and its own hash over its
content and that link. Editing a record breaks its own hash; deleting, inserting or reordering
records breaks a link. ``gateway/audit/verify.py`` walks the chain and names the first break.

Privacy alerts are records of the same chain: a batch's alerts follow its events, numbered from
the same sequence, so deleting or rewriting an alert breaks the chain as an event would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields, replace
from enum import Enum
from typing import get_type_hints

import orjson

GENESIS = "0" * 64
"""The ``prev_hash`` of the first record."""

DOCUMENT_FIELD = "document"
"""A document opened is logged as the field ``document:<id>``; the patient's own view of the log
shows only ``document`` (that a document was opened, not which)."""


CHANGE_PREFIX = "change:"
"""A write is logged as the field ``change:<section>`` (``change:criticalInformation``,
``change:ownRegistrations``, ``change:privacySettings``): the patient's log shows that
something was changed, and in which part of the record."""

BLOCK_LIFTED = "BLOCK_LIFTED"
RESTRICTION_LIFTED = "RESTRICTION_LIFTED"
LIFTED_CODES = frozenset({BLOCK_LIFTED, RESTRICTION_LIFTED})
"""The ``code`` of a change that lifted a block or a restriction: flagged in the log."""

REPLAYED = "REPLAYED"
"""The ``code`` of a change's outcome when an earlier attempt with the same idempotency key had
made it: nothing was written this time."""


class Outcome(Enum):
    """What became of one field's access."""

    GRANTED = "GRANTED"
    DENIED = "DENIED"
    ERROR = "ERROR"
    ATTEMPTED = "ATTEMPTED"
    """A change, logged durably before it was sent to the registry; the same access holds its
    outcome, unless the gateway failed before it knew."""
    NOT_DELIVERED = "NOT_DELIVERED"
    """The event of the same access, field and time was committed after its request had
    stopped waiting and answered ``AUDIT_UNAVAILABLE``: nothing it records left the gateway."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One field read or denied, for one patient, in one request (DOMAIN.md §3)."""

    at: str  # ISO 8601 UTC with microseconds: sorts as text, hashes the same in every store
    access_id: str  # one per request, made by the gateway (a request id may be reused)
    request_id: str  # the caller's correlation id (X-Request-ID), or the gateway's
    actor_kind: str
    actor_subject: str
    actor_hpr: str | None
    actor_pid: str | None
    actor_name: str | None
    actor_authorizations: str  # Volven 9060 codes, comma-separated
    legal_entity: str | None
    point_of_care: str | None
    organisation_name: str | None
    client_name: str | None
    patient: str
    field: str
    purpose: str | None
    basis: str | None
    btg_reason: str | None
    outcome: str
    code: str | None
    emergency: bool
    restricted_opened: bool
    from_cache: bool
    stale_age_ms: int | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AuditEvent))
"""The event's columns, in the order they are hashed and stored."""

_column_values = operator.attrgetter(*COLUMNS)


def column_values(event: AuditEvent) -> tuple[object, ...]:
    """The event's values in column order. Every column is a scalar, so this equals
    ``dataclasses.astuple``, which deep-copies and cost more than the hash itself."""
    values: tuple[object, ...] = _column_values(event)
    return values


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store holds it: its place in the chain, its link and its hash."""

    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The chain hash of ``event`` stored after a record whose hash is ``prev_hash``.

    The link, not the ``seq`` column, fixes a record's place: a record moved elsewhere keeps a
    valid hash of its own and breaks the links around it, which tells reordering from editing.
    """
    # A JSON array of the values in column order: unambiguous, and the same bytes in any store.
    canonical = orjson.dumps([prev_hash, *column_values(event)])
    return hashlib.sha256(canonical).hexdigest()


def chain(
    last_seq: int,
    last_hash: str,
    events: Sequence[AuditEvent],
    alerts: Sequence[PrivacyAlert] = (),
) -> tuple[list[StoredEvent], list[ChainedAlert]]:
    """Link ``events`` and then ``alerts`` after the record (``last_seq``, ``last_hash``)."""
    stored = []
    prev, seq = last_hash, last_seq
    for event in events:
        seq += 1
        digest = event_hash(event, prev)
        stored.append(StoredEvent(seq, event, prev, digest))
        prev = digest
    chained = []
    for alert in alerts:
        seq += 1
        digest = alert_hash(alert, prev)
        chained.append(ChainedAlert(seq, alert, prev, digest))
        prev = digest
    return stored, chained


def not_delivered(event: AuditEvent) -> AuditEvent:
    """The mark saying that ``event`` was committed but its request answered without it: the
    same access, patient, field and time, outcome ``NOT_DELIVERED``."""
    return replace(event, outcome=Outcome.NOT_DELIVERED.value, code=None)


def now_iso() -> str:
    """Now, as the events store it."""
    # isoformat is several times faster than strftime; the text is the same.
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def event_from_row(values: Sequence[object]) -> AuditEvent:
    """An event from its stored column values. SQLite's 0 and 1 in a boolean column are read
    back as booleans; any other value is kept as it is, so that ``wrong_types`` and the hash
    see what is really stored (``bool('yes')`` would hash as ``True``)."""
    normalised = [
        _boolean(value) if name in _BOOLEAN else value
        for name, value in zip(COLUMNS, values, strict=True)
    ]
    return AuditEvent(*normalised)  # type: ignore[arg-type]


_BOOLEAN = frozenset({"emergency", "restricted_opened", "from_cache"})


def _boolean(value: object) -> object:
    if type(value) is int and value in (0, 1):
        return bool(value)
    return value


@dataclass(frozen=True, slots=True)
class PrivacyAlert:
    """An emergency or break-the-glass access, for privacy officers. Holds no patient data:
    the patient and the reason are in the access log, at ``access_id``."""

    at: str
    access_id: str
    actor_name: str | None
    actor_hpr: str | None
    legal_entity: str | None
    organisation_name: str | None
    purpose: str | None
    basis: str | None
    text: str


ALERT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PrivacyAlert))
"""The alert's columns, in the order they are hashed and stored."""


@dataclass(frozen=True, slots=True)
class ChainedAlert:
    """A privacy alert as the store holds it: its place in the chain, its link and its hash."""

    seq: int
    alert: PrivacyAlert
    prev_hash: str
    hash: str


_ALERT_TAG = "privacy-alert"


def alert_hash(alert: PrivacyAlert, prev_hash: str) -> str:
    """The chain hash of ``alert`` stored after a record whose hash is ``prev_hash``: the link,
    a tag and the values in column order (the tag and the length tell it from an event)."""
    canonical = orjson.dumps([prev_hash, _ALERT_TAG, *astuple(alert)])
    return hashlib.sha256(canonical).hexdigest()


def _expected_types(cls: type) -> dict[str, tuple[type, ...]]:
    hints = get_type_hints(cls)
    expected: dict[str, tuple[type, ...]] = {}
    for name, hint in hints.items():
        args = getattr(hint, "__args__", None)
        expected[name] = tuple(args) if args else (hint,)
    return expected


EVENT_TYPES = _expected_types(AuditEvent)
"""Each event column's allowed Python types (``NoneType`` where it may be empty)."""
ALERT_TYPES = _expected_types(PrivacyAlert)
"""Each alert column's allowed Python types."""


def wrong_types(content: AuditEvent | PrivacyAlert) -> list[str]:
    """The columns of an event or alert whose stored value is not of the declared type (an
    integer in a boolean column, bytes for text, text for a number): a stored value of another
    type is an edit, even where it would hash the same."""
    expected = EVENT_TYPES if isinstance(content, AuditEvent) else ALERT_TYPES
    return [
        name
        for name, allowed in expected.items()
        # ``type() in``, not isinstance: ``True`` is an int and must not pass for one.
        if type(getattr(content, name)) not in allowed
    ]
