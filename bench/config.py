"""What a benchmark run does and for how long: the full run's defaults, and the smoke run's."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
PEER_DIR = BENCH_DIR / "peer"
RESULTS_DIR = BENCH_DIR / "results"


@dataclass(frozen=True, slots=True)
class Variant:
    """Where the gateway keeps its access log and its cache of upstream answers."""

    audit: str  # "sqlite" | "postgres"
    cache: str  # "memory" | "redis"

    @property
    def label(self) -> str:
        """E.g. ``sqlite+memory``."""
        return f"{self.audit}+{self.cache}"


PRIMARY = Variant("sqlite", "memory")
"""The variant every figure but the warm-cost table uses: no service beyond the gateway."""

ALL_VARIANTS = (
    PRIMARY,
    Variant("sqlite", "redis"),
    Variant("postgres", "memory"),
    Variant("postgres", "redis"),
)


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """Durations are per load run (seconds); each figure is one or more runs."""

    connections: int = 32
    workers: tuple[int, ...] = (1, 2)
    duration_s: float = 20.0
    warmup_s: float = 5.0
    fanout_latencies_ms: tuple[int, ...] = (20, 50, 100)
    fanout_duration_s: float = 15.0
    memory_duration_s: float = 600.0
    rounds: int = 2  # alternations: ours, other, ours, other
    variants: tuple[Variant, ...] = ALL_VARIANTS
    variant_workers: tuple[int, ...] = ()  # workers for the other variants; () = workers
    peer_workers: tuple[int, ...] = ()  # workers for the cold/peer comparison; () = workers
    peer: bool = True
    postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/0"
    population: int = 1000
    memoised_mocks: bool = True  # registries answer repeated reads from a memo (mocks/memo.py)
    results_dir: Path = field(default=RESULTS_DIR)
    smoke: bool = False

    @classmethod
    def smoke_run(cls, **overrides: object) -> BenchConfig:
        """A few seconds a figure: proves the harness works, measures nothing worth quoting."""
        base = cls(
            duration_s=1,
            warmup_s=0,
            fanout_duration_s=1,
            memory_duration_s=2,
            rounds=1,
            variants=(PRIMARY, Variant("postgres", "memory")),
            variant_workers=(2,),
            peer_workers=(2,),
            smoke=True,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]
