"""One typed, frozen settings object, read from the environment (``GATEWAY_…``) or built in tests.

Nested groups use ``__`` in environment variables: ``GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL``.
A source without ``base_url`` is served by the embedded mock registry: ``summary-gateway serve``
starts a mock for each such source and fills in its URL; ``create_app`` refuses to start with a
source that has none.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
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

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")


class SourcesSettings(BaseModel):
    """One group per registry; the field names are the sources' names everywhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prescriptions: SourceSettings = SourceSettings()
    gp_registry: SourceSettings = SourceSettings()
    visit_history: SourceSettings = SourceSettings()
    documents: SourceSettings = SourceSettings()
    lab_results: SourceSettings = SourceSettings()
    core_record: SourceSettings = SourceSettings()

    def items(self) -> list[tuple[str, SourceSettings]]:
        """(name, settings) for every source, in a stable order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields]

    def unset(self) -> list[str]:
        """Names of the sources that have no base URL (the embedded mocks serve them)."""
        return [name for name, source in self.items() if source.base_url is None]


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
