"""How every write to the core record runs: checked, logged, written, made visible everywhere.

1. The input was validated and the policy allowed it (the mutation did both; a refusal is
   logged as DENIED and nothing else happens).
2. **The intent is made durable first**: one access-log event, ``ATTEMPTED``, committed on its
   own before the registry is asked. If the access log cannot take it, the mutation fails with
   AUDIT_UNAVAILABLE and nothing is written. Why this order and not "write, then log the
   outcome": a write that succeeded while its log entry failed would be a change the patient
   can never see in their log; with the intent first, every change that can exist in the record
   has an entry. The reverse risk (an intent whose write never happened) is the harmless one,
   and the outcome event below says what became of it.
3. The registry is written (idempotency key and version, ``writer.py``). A key that already
   made another change is refused (IDEMPOTENCY_KEY_REUSED, logged as DENIED), nothing written.
4. The patient's cached core-record answers are invalidated (a generation bump, shared through
   Redis when the cache is shared), so the next read on any gateway instance asks the registry.
5. The outcome (GRANTED, or ERROR with its code) is recorded and committed with the request's
   other events before the answer leaves (``WriteAccessLog``); if that commit fails the answer
   is AUDIT_UNAVAILABLE, and a retry with the same idempotency key writes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.access.policy import AccessDenied
from gateway.audit.events import CHANGE_PREFIX, REPLAYED, Outcome
from gateway.audit.store import AuditUnavailable
from gateway.errors import (
    AccessLogUnavailable,
    CacheInvalidationFailed,
    GatewayError,
    IdempotencyKeyReused,
)
from gateway.graphql.context import Context
from gateway.graphql.section import SourceName
from gateway.identity import NationalIdentityNumber
from resolvers.core_record.writer import Written

T = TypeVar("T")
log = logging.getLogger("gateway.changes")

CRITICAL_INFORMATION = f"{CHANGE_PREFIX}criticalInformation"
OWN_REGISTRATIONS = f"{CHANGE_PREFIX}ownRegistrations"
PRIVACY_SETTINGS = f"{CHANGE_PREFIX}privacySettings"


def denied(ctx: Context, nin: NationalIdentityNumber, field: str, denial: AccessDenied) -> None:
    """Log a refused change (the patient's log shows the attempt was refused)."""
    ctx.audit.record(nin.value, field, Outcome.DENIED, denial.code)


async def apply(
    ctx: Context,
    nin: NationalIdentityNumber,
    field: str,
    write: Callable[[], Awaitable[T]],
    *,
    restricted_opened: bool = False,
    code: str | None = None,
) -> T:
    """Run one allowed change (steps 2-5 of the module docstring). ``code`` marks a change
    that lifted a block or a restriction."""
    intent = ctx.audit.event(
        nin.value, field, Outcome.ATTEMPTED, code, restricted_opened=restricted_opened
    )
    try:
        await ctx.audit_writer.commit([intent], [])
    except AuditUnavailable as exc:
        raise AccessLogUnavailable(
            "the access log cannot be written right now, so nothing was changed"
        ) from exc
    try:
        result = await write()
    except IdempotencyKeyReused as refused:
        # Refused, not failed: the key already made another change, and nothing was written.
        ctx.audit.record(nin.value, field, Outcome.DENIED, refused.code)
        raise
    except GatewayError as error:
        ctx.audit.record(nin.value, field, Outcome.ERROR, error.code)
        raise
    except Exception:
        # Not one of ours (a bug, a library's surprise): the attempt still gets its outcome,
        # so the log never holds an ATTEMPTED record with nothing after it.
        ctx.audit.record(nin.value, field, Outcome.ERROR, GatewayError.code)
        raise
    outcome_code = REPLAYED if _replayed(result) else code
    ctx.audit.record(
        nin.value, field, Outcome.GRANTED, outcome_code, restricted_opened=restricted_opened
    )
    try:
        await ctx.clients.invalidate_patient(SourceName.CORE_RECORD.value, nin.value)
    except Exception as exc:
        log.warning("cache invalidation after a change failed: %s", type(exc).__name__)
        raise CacheInvalidationFailed(
            "the change was saved, but cached copies could not be dropped: other gateway "
            "instances may show the old entry until their cache expires; retry with the same "
            "idempotency key to try again"
        ) from exc
    return result


def _replayed(result: object) -> bool:
    """Whether every entry of the change was found written by an earlier attempt."""
    entries = result if isinstance(result, list) else [result]
    return bool(entries) and all(isinstance(e, Written) and e.replayed for e in entries)
