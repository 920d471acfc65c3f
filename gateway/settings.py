"""One typed, frozen settings object, read from the environment (``GATEWAY_…``) or built in tests.

Nested groups use ``__`` in environment variables: ``GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL``.
A source without ``base_url`` is served by the embedded mock registry: ``summary-gateway serve``
starts a mock for each such source and fills in its URL; ``create_app`` refuses to start with a
source that has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
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


class GraphQLSettings(BaseModel):
    """How much one GraphQL request may ask for, and how it may arrive.

    The defaults suit the demo (introspection, suggestions and automatic persisted queries on);
    ``GATEWAY_PROFILE=production`` picks :data:`PRODUCTION_GRAPHQL` instead (README: "Production").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_depth: int = Field(default=12, ge=1, description="Deepest field nesting (QUERY_TOO_DEEP).")
    max_aliases: int = Field(default=30, ge=0, description="Aliases per document.")
    max_tokens: int = Field(default=2000, ge=1, description="Lexical tokens per document.")
    max_cost: int = Field(
        default=5000, ge=1, description="Fields a query may resolve, lists multiplied out."
    )
    default_list_size: int = Field(
        default=10, ge=1, description="Assumed length of a list field without its own estimate."
    )
    list_sizes: dict[str, int] = Field(
        default_factory=dict,
        description='Per-field list-length estimates, e.g. {"MedicationsSection.items": 50}.',
    )
    batching_enabled: bool = Field(default=False, description="Accept JSON arrays of requests.")
    max_batch: int = Field(default=5, ge=1, description="Operations per batch when enabled.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Request body limit.")
    introspection: bool = True
    field_suggestions: bool = Field(default=True, description='"Did you mean …?" in errors.')
    csrf_prevention: bool = Field(
        default=True, description="Refuse requests a browser could send without a preflight."
    )
    cors_allow_origins: tuple[str, ...] = Field(
        default=(), description="Origins whose pages may call the gateway (CORS)."
    )
    persisted_queries: Literal["off", "apq", "trusted"] = Field(
        default="apq",
        description="off: query text only; apq: automatic persisted queries; trusted: only "
        "documents registered in trusted_documents_dir.",
    )
    trusted_documents_dir: Path | None = Field(
        default=None, description="Directory of registered .graphql documents (hashed SHA-256)."
    )
    apq_cache_size: int = Field(default=1000, ge=1, description="Documents APQ remembers.")


PRODUCTION_GRAPHQL: dict[str, object] = {
    "introspection": False,
    "field_suggestions": False,
    "persisted_queries": "trusted",
}
"""What ``GATEWAY_PROFILE=production`` changes in :class:`GraphQLSettings`; explicit
``GATEWAY_GRAPHQL__…`` variables still win."""


class Settings(BaseSettings):
    """Everything the gateway can be told. Tests construct it; production reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        env_nested_delimiter="__",
        env_file=None,
        frozen=True,
        extra="forbid",
    )

    profile: Literal["demo", "production"] = Field(
        default="demo",
        description="production: no GraphiQL, introspection or suggestions; trusted documents "
        "only.",
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
    graphql: GraphQLSettings = GraphQLSettings()
    request_deadline_s: float = Field(
        default=10.0, gt=0, description="Whole-request budget before DEADLINE_EXCEEDED."
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: Any) -> Any:
        # The profile only changes defaults: whatever is set explicitly still wins.
        if not isinstance(data, dict) or data.get("profile") != "production":
            return data
        graphql = data.get("graphql") or {}
        if isinstance(graphql, GraphQLSettings):
            graphql = graphql.model_dump(exclude_unset=True)
        return {"graphiql": False, **data, "graphql": {**PRODUCTION_GRAPHQL, **graphql}}

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
