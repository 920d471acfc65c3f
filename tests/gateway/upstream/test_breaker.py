"""The circuit breaker and the recent-error window, on a clock the tests move."""

from __future__ import annotations

from gateway.upstream.breaker import CircuitBreaker, CircuitState, ErrorWindow


def _state(breaker: CircuitBreaker) -> CircuitState:
    # A call, so that mypy does not narrow the property between two checks.
    return breaker.state


class Clock:
    """Time that passes only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_the_threshold_of_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert _state(breaker) is CircuitState.CLOSED
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    assert not breaker.allow()
    assert breaker.probe_in_s() == 10


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_s=10, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert _state(breaker) is CircuitState.CLOSED


def test_after_the_reset_time_exactly_one_probe_goes_out_and_its_success_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert _state(breaker) is CircuitState.HALF_OPEN
    assert breaker.allow(), "the probe"
    assert not breaker.allow(), "nobody else while the probe is out"
    breaker.record_success()
    assert _state(breaker) is CircuitState.CLOSED
    assert breaker.allow()


def test_a_failed_probe_opens_the_breaker_for_another_reset_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 11
    assert breaker.allow()
    breaker.record_failure()
    assert _state(breaker) is CircuitState.OPEN
    clock.now += 9
    assert not breaker.allow()


def test_a_probe_that_ends_without_a_verdict_lets_the_next_call_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_the_error_window_counts_only_the_recent_calls() -> None:
    clock = Clock()
    window = ErrorWindow(window_s=60, clock=clock)
    assert window.snapshot().rate is None
    window.record(ok=False)
    clock.now += 61
    window.record(ok=True)
    window.record(ok=False)
    snapshot = window.snapshot()
    assert (snapshot.calls, snapshot.failures, snapshot.rate) == (2, 1, 0.5)
