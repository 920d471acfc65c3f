"""``summary-gateway audit verify|head``: check the access log's hash chain from a shell."""

from __future__ import annotations

import asyncio
import sys

from gateway.audit import build_store
from gateway.audit.store import AuditUnavailable
from gateway.audit.verify import verify
from gateway.settings import Settings


def run_audit_command(settings: Settings, command: str, anchor: str | None) -> int:
    """Run ``verify`` or ``head``; exit status 0 when the chain is intact."""
    parsed: tuple[int, str] | None = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            print("summary-gateway: --anchor takes SEQ:HASH (from `audit head`)", file=sys.stderr)
            return 2
        parsed = (int(seq), digest)
    try:
        return asyncio.run(_run(settings, command, parsed))
    except AuditUnavailable as exc:
        print(f"summary-gateway: the access log cannot be read: {exc}", file=sys.stderr)
        return 2


async def _run(settings: Settings, command: str, anchor: tuple[int, str] | None) -> int:
    store = build_store(settings)
    await store.open()
    try:
        report = await verify(store, anchor)
    finally:
        await store.close()
    if command == "head":
        print(f"{report.head_seq}:{report.head_hash}")
        return 0 if report.ok else 1
    if report.problem is None:
        head = f"{report.head_seq}:{report.head_hash}"
        print(f"access log intact: {report.checked} records, head {head}")
        return 0
    problem = report.problem
    print(
        f"access log BROKEN at record {problem.seq}: {problem.kind.value} ({problem.detail}); "
        f"{report.checked} records before it verified",
    )
    return 1
