"""One typed, frozen settings object, read from the environment (``GATEWAY_…``) or built in tests.

Nested groups use ``__`` in environment variables: ``GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL``.
A source without ``base_url`` is served by the embedded mock registry: ``summary-gateway serve``
starts a mock for each such source and fills in its URL; ``create_app`` refuses to start with a
source that has none.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigurationError


class SourceSettings(BaseModel):
    """How to reach one upstream FHIR R4 registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(
        default=None,
        description="FHIR base URL, e.g. https://fhir.example.no/fhir. Unset: the embedded mock.",
    )
    connect_timeout_s: float = Field(default=1.0, gt=0, description="TCP connect timeout.")
    timeout_s: float = Field(
        default=4.0, gt=0, description="Total time for one HTTP request, including the body."
    )
    page_size: int = Field(default=50, ge=1, le=1000, description="`_count` asked per page.")
    max_pages: int = Field(
        default=10, ge=1, description="Pages followed per search before the section is PARTIAL."
    )
    cache_ttl_s: float = Field(
        default=60.0, ge=0, description="How long a cached answer is served as fresh (0: never)."
    )
    stale_max_s: float = Field(
        default=1800.0,
        ge=0,
        description="Oldest cached answer served (as STALE) when the source fails (0: never).",
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="Extra tries of a read that failed transiently."
    )
    retry_backoff_s: float = Field(
        default=0.1, ge=0, description="First backoff; doubles per retry, with full jitter."
    )
    breaker_failure_threshold: int = Field(
        default=10,
        ge=1,
        description="Consecutive failed searches that open the breaker (a summary makes up to 7 "
        "a source).",
    )
    breaker_reset_s: float = Field(
        default=15.0, gt=0, description="How long the breaker stays open before one probe."
    )
    max_in_flight: int = Field(
        default=50, ge=1, description="Searches in flight to this source at once (bulkhead)."
    )

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


# How long each registry's answers stay fresh, and how old a stale one may be: the GP registry
# changes rarely, prescriptions and the core record's critical information often.
_SOURCE_DEFAULTS: dict[str, dict[str, float]] = {
    "prescriptions": {"cache_ttl_s": 30.0, "stale_max_s": 900.0},
    "gp_registry": {"cache_ttl_s": 3600.0, "stale_max_s": 86400.0},
    "visit_history": {"cache_ttl_s": 600.0, "stale_max_s": 86400.0},
    "documents": {"cache_ttl_s": 120.0, "stale_max_s": 3600.0},
    "lab_results": {"cache_ttl_s": 60.0, "stale_max_s": 3600.0},
    "core_record": {"cache_ttl_s": 30.0, "stale_max_s": 1800.0},
}


class SourcesSettings(BaseModel):
    """One group per registry; the field names are the sources' names everywhere.

    Each registry has its own defaults (``_SOURCE_DEFAULTS``) for what was not set explicitly,
    however the group was given: from the environment, as a dict, or as a ``SourceSettings``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prescriptions: SourceSettings = SourceSettings()
    gp_registry: SourceSettings = SourceSettings()
    visit_history: SourceSettings = SourceSettings()
    documents: SourceSettings = SourceSettings()
    lab_results: SourceSettings = SourceSettings()
    core_record: SourceSettings = SourceSettings()

    @model_validator(mode="before")
    @classmethod
    def _source_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, defaults in _SOURCE_DEFAULTS.items():
            given = filled.get(name)
            if given is None:
                filled[name] = SourceSettings(**defaults)
            elif isinstance(given, SourceSettings):
                unset = {k: v for k, v in defaults.items() if k not in given.model_fields_set}
                filled[name] = given.model_copy(update=unset)
            elif isinstance(given, dict):
                filled[name] = {**defaults, **given}
        return filled

    def items(self) -> list[tuple[str, SourceSettings]]:
        """(name, settings) for every source, in a stable order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]

    def unset(self) -> list[str]:
        """Names of the sources that have no base URL (the embedded mocks serve them)."""
        return [name for name, source in self.items() if source.base_url is None]


class CacheSettings(BaseModel):
    """The cache of upstream answers: in memory by default, Redis when a URL is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    redis_url: str | None = Field(
        default=None,
        description="redis://[:password@]host:port/db. Unset: an in-process memory cache.",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes: AES-256-GCM key for cached values and the key "
        "of the keyed hash that names cache entries. Required with Redis.",
    )
    namespace: str = Field(
        default="summary-gateway", min_length=1, description="Prefix of every cache key."
    )
    max_entries: int = Field(
        default=20_000, ge=1, description="Entries the memory cache holds (oldest go first)."
    )
    redis_timeout_s: float = Field(
        default=0.5, gt=0, description="Socket timeout of Redis calls; a slow cache is a miss."
    )

    @field_validator("encryption_key")
    @classmethod
    def _thirty_two_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                raw = base64.b64decode(value.get_secret_value(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("encryption_key must be base64") from exc
            if len(raw) != 32:
                raise ValueError("encryption_key must be base64 of 32 bytes")
        return value

    @model_validator(mode="after")
    def _redis_needs_a_key(self) -> CacheSettings:
        # Fail closed: health data never goes to a shared Redis in clear.
        if self.redis_url is not None and self.encryption_key is None:
            raise ValueError("cache.redis_url needs cache.encryption_key (base64 of 32 bytes)")
        return self

    def key_bytes(self) -> bytes | None:
        """The decoded encryption key, or None when none is configured."""
        if self.encryption_key is None:
            return None
        return base64.b64decode(self.encryption_key.get_secret_value())


class DemoSettings(BaseModel):
    """The embedded mock registries that ``summary-gateway serve`` starts for unset sources."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    population_size: int = Field(default=1000, ge=0, le=100_000)
    seed: int = 2026
    latency_ms: int = Field(default=0, ge=0, description="Added to every mock response.")


class Settings(BaseSettings):
    """Everything the gateway can be told. Tests construct it; production reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        env_nested_delimiter="__",
        env_file=None,
        frozen=True,
        extra="forbid",
    )

    host: str = Field(default="127.0.0.1", description="Interface the gateway listens on.")
    port: int = Field(default=8000, ge=0, le=65535)
    sources: SourcesSettings = SourcesSettings()
    demo: DemoSettings = DemoSettings()
    cache: CacheSettings = CacheSettings()
    request_deadline_s: float = Field(
        default=10.0,
        gt=0,
        description="Budget of one whole request: no upstream call, retry or wait goes past it.",
    )
    graphiql: bool = Field(default=True, description="Serve GraphiQL (local assets) at /graphql.")
    http_max_connections: int = Field(
        default=600,
        ge=1,
        description="Pooled upstream connections (a summary holds up to 12 at once).",
    )
    operation_cache_size: int = Field(
        default=1000, ge=1, description="Parsed and validated documents kept in memory."
    )
    log_level: str = Field(default="INFO")

    def require_source_urls(self) -> None:
        """Raise ConfigurationError when a source has no base URL (no mock was started for it)."""
        missing = self.sources.unset()
        if missing:
            raise ConfigurationError(
                f"no base_url for source(s) {', '.join(missing)}: set "
                f"GATEWAY_SOURCES__<NAME>__BASE_URL, or run `summary-gateway serve`, which "
                f"starts the embedded mock registries for unset sources"
            )

    def with_source_urls(self, urls: dict[str, str]) -> Settings:
        """A copy in which the named sources get these base URLs (used by the demo launcher)."""
        sources = self.sources.model_copy(
            update={
                name: getattr(self.sources, name).model_copy(update={"base_url": url})
                for name, url in urls.items()
            }
        )
        return self.model_copy(update={"sources": sources})
