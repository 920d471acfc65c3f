"""The bulkhead: a slow registry gets at most its cap of calls in flight; the rest are told
SOURCE_BUSY, and the other registries answer as usual. Schema-level, real mock servers."""

from __future__ import annotations

import asyncio

from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import RESILIENCE_ON, fresh_runner, settings_for

QUERY = """
query Slow($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    medications { searches { status errorCode } }
    generalPractitioner { status }
  }
}
"""


async def test_a_slow_registry_gets_only_its_cap_of_calls_and_the_others_are_untouched(
    registries: MockRegistries,
) -> None:
    # One call at a time, 1.4 s each; a waiter gives up after the source timeout of 2.1 s. So of
    # six searches (two per summary) the first runs at once, the second gets the slot at 1.4 s,
    # and the other four give up at 2.1 s, before a slot frees again at 2.8 s.
    settings = settings_for(
        registries,
        **{**RESILIENCE_ON, "max_in_flight": 1, "retries": 0},
        timeout_s=2.1,
        page_size=1000,
        max_pages=1,  # one request a search, so requests count searches
        # ... and the number named in the search itself, with no Patient search first.
        patient_binding="identifier",
    )
    registries.set_latency(Source.PRESCRIPTIONS, 1400)
    patients = [f.nin for f in FIXTURES[:3]]
    async with fresh_runner(settings) as runner:
        bodies = await asyncio.gather(*(runner.execute(QUERY, {"nin": nin}) for nin in patients))

    searches = [
        (s["status"], s["errorCode"])
        for body in bodies
        for s in body["data"]["patient"]["medications"]["searches"]
    ]
    busy = [s for s in searches if s == ("FAILED", "SOURCE_BUSY")]
    answered = [s for s in searches if s[0] in {"OK", "TRUNCATED"}]
    assert (len(busy), len(answered)) == (4, 2)
    sent = registries.stats(Source.PRESCRIPTIONS).about_patients
    assert sent == 2, "never more than the cap was sent"
    assert all(b["data"]["patient"]["generalPractitioner"]["status"] == "COMPLETE" for b in bodies)
