"""``Query.sourceHealth``: each registry's circuit breaker and recent error rate.

The same report as ``/readyz``, for a client that wants to say up front which registries are
struggling. It is this gateway process's view: breakers are per process.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.context import Context
from gateway.graphql.section import SourceName
from gateway.upstream.breaker import CircuitState
from gateway.upstream.guard import SourceHealthReport

CircuitStateType = strawberry.enum(
    CircuitState,
    description="A registry's circuit breaker: CLOSED (called as usual), OPEN (failed "
    "repeatedly: not called, its sections answer at once from the cache or as unavailable), "
    "HALF_OPEN (the next call probes whether it is back).",
)


@strawberry.type(description="How one registry has been answering this gateway process.")
class SourceHealth:
    source: SourceName = strawberry.field(description="The registry.")
    circuit: CircuitState = strawberry.field(description="Its circuit breaker's state.")
    consecutive_failures: int = strawberry.field(
        description="Failed searches since the last success."
    )
    recent_calls: int = strawberry.field(
        description="Searches sent to it in the last minute (a search's retries are one)."
    )
    recent_failures: int = strawberry.field(description="Of those, how many failed.")
    recent_error_rate: float | None = strawberry.field(
        description="recentFailures / recentCalls; null without recent calls."
    )
    probe_in_seconds: float | None = strawberry.field(
        description="While OPEN: seconds until a probe is let through. Null otherwise."
    )
    in_flight: int = strawberry.field(description="Searches in flight to it right now.")
    patient_binding: str | None = strawberry.field(
        description="How its searches name the patient: `reference` (the identity number "
        "resolved to the registry's own Patient id; standard), `chained`, or `identifier` "
        "(the number inside references). Null until the first search chose it."
    )
    privacy_settings: str | None = strawberry.field(
        description="Core record only: where patients' privacy settings are read, or where the "
        "deployment enforces them instead. Null for the other registries."
    )

    @classmethod
    def of(cls, report: SourceHealthReport) -> SourceHealth:
        """The GraphQL view of a health report."""
        return cls(
            source=SourceName(report.source),
            circuit=report.state,
            consecutive_failures=report.consecutive_failures,
            recent_calls=report.recent_calls,
            recent_failures=report.recent_failures,
            recent_error_rate=None if report.error_rate is None else round(report.error_rate, 3),
            probe_in_seconds=None if report.probe_in_s is None else round(report.probe_in_s, 3),
            in_flight=report.in_flight,
            patient_binding=report.patient_binding,
            privacy_settings=report.privacy_settings,
        )


@strawberry.type(description="Health of the registries behind the gateway.")
class SourceHealthQuery:
    @strawberry.field(
        description="Each registry's circuit breaker state and recent error rate, as this "
        "gateway process sees them. Holds no patient data."
    )
    def source_health(self, info: Info[Context, None]) -> list[SourceHealth]:
        return [SourceHealth.of(report) for report in info.context.clients.health()]
