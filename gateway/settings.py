"""One typed, frozen settings object, read from the environment (``GATEWAY_…``) or built in tests.

Nested groups use ``__`` in environment variables: ``GATEWAY_SOURCES__PRESCRIPTIONS__BASE_URL``.
A source without ``base_url`` is served by the embedded mock registry: ``summary-gateway serve``
starts a mock for each such source and fills in its URL; ``create_app`` refuses to start with a
source that has none.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigurationError
from gateway.upstream.binding import BindingMode


class UpstreamAuthSettings(BaseModel):
    """How the gateway proves who it is to one registry (docs/configuration.md, "Upstream
    credentials").

    Settings only say where secrets are: a file or an environment variable, read when the app
    starts (a bearer token file again after a 401). No secret is ever a settings value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["none", "bearer", "client_credentials"] = Field(
        default="none",
        description="none; bearer: a static token from token_file or token_env; "
        "client_credentials: OAuth2 tokens from token_url (HelseID: private_key_jwt, DPoP).",
    )
    token_file: Path | None = Field(
        default=None, description="bearer: file holding the token (re-read after a 401)."
    )
    token_env: str | None = Field(
        default=None, description="bearer: name of the environment variable holding the token."
    )
    token_url: str | None = Field(
        default=None,
        description="client_credentials: the token endpoint (also the `aud` of "
        "the client assertion).",
    )
    client_id: str | None = Field(default=None, description="client_credentials: the client.")
    scope: str | None = Field(default=None, description="Space-separated scopes asked for.")
    audience: str | None = Field(
        default=None,
        description="The API the token is for, sent as `resource` (RFC 8707), as HelseID "
        "expects it for clients of several APIs.",
    )
    private_key_file: Path | None = Field(
        default=None,
        description="PEM private key signing the client assertion (private_key_jwt, RFC 7523): "
        "RS256 for an RSA key, ES256 for a P-256 key.",
    )
    key_id: str | None = Field(
        default=None, description="`kid` of that key as registered with the issuer."
    )
    client_secret_file: Path | None = Field(
        default=None, description="File holding the client secret (client_secret_basic)."
    )
    dpop: bool = Field(
        default=False,
        description="Sender-constrained tokens (DPoP, RFC 9449): a proof with the token "
        "request and with every registry request.",
    )
    refresh_before_s: float = Field(
        default=30.0,
        ge=0,
        description="A token is renewed this long before it expires (at most half its life).",
    )
    token_timeout_s: float = Field(default=4.0, gt=0, description="Timeout of a token request.")

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("token_url must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _complete(self) -> UpstreamAuthSettings:
        if self.kind == "bearer" and (self.token_file is None) == (self.token_env is None):
            raise ValueError("auth kind bearer needs exactly one of token_file and token_env")
        if self.kind == "client_credentials":
            if not self.token_url or not self.client_id:
                raise ValueError("auth kind client_credentials needs token_url and client_id")
            if (self.private_key_file is None) == (self.client_secret_file is None):
                raise ValueError(
                    "auth kind client_credentials needs exactly one of private_key_file and "
                    "client_secret_file"
                )
        return self


class UpstreamTlsSettings(BaseModel):
    """TLS towards one registry: a client certificate (mTLS) and the CAs trusted for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_cert_file: Path | None = Field(
        default=None, description="PEM client certificate (chain) presented to the registry."
    )
    client_key_file: Path | None = Field(
        default=None, description="PEM private key of that certificate."
    )
    ca_file: Path | None = Field(
        default=None,
        description="PEM CA bundle the registry's certificate must chain to (unset: the "
        "system's trusted CAs).",
    )

    @model_validator(mode="after")
    def _pair(self) -> UpstreamTlsSettings:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError("tls needs both client_cert_file and client_key_file, or neither")
        return self

    @property
    def configured(self) -> bool:
        """Whether anything differs from plain TLS with the system's CAs."""
        return self.client_cert_file is not None or self.ca_file is not None


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
    whole_read_max_pages: int = Field(
        default=100,
        ge=1,
        description="Pages followed by a search that must be read whole (the privacy "
        "settings); one more page fails closed with SOURCE_INCOMPLETE.",
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
    batch: bool = Field(
        default=True,
        description="Send the searches started together as one FHIR `batch` (one exchange "
        "instead of several) when the source's CapabilityStatement offers `batch`.",
    )
    batch_max_entries: int = Field(
        default=20, ge=2, le=100, description="Searches per batch at most."
    )
    patient_binding: BindingMode = Field(
        default=BindingMode.AUTO,
        description="How searches name the patient: `reference` (standard: the identity number "
        "resolved to the registry's Patient id, `subject=Patient/<id>`), `chained` "
        "(`subject:Patient.identifier=`), `identifier` (`subject:identifier=`, only for "
        "registries that write the number into references) or `auto` (from the source's "
        "CapabilityStatement: `reference` when it searches Patient by identifier).",
    )
    routes: Literal["standard", "norwegian"] = Field(
        default="standard",
        description="Which searches read the sections: `standard` R4 (GP from "
        "`Patient.generalPractitioner`, laboratory Observations beside DiagnosticReports) or "
        "`norwegian`, the national registries' dialect (`PractitionerRole?patient:identifier`).",
    )
    privacy_enforced_by: str | None = Field(
        default=None,
        description="core_record only, and only for a registry without Consent support: where "
        "patients' privacy settings (reservation, restrictions, blocks) are enforced instead, "
        "e.g. `the national access gateway`. The gateway then reads none and says so in "
        "sourceHealth; without it such a registry is refused at start.",
    )
    binding_ttl_s: float = Field(
        default=600.0,
        ge=0,
        description="How long the registry's Patient id found for an identity number is kept "
        "(upstream data, like the cache; 0: found again on every request). Ids change only when "
        "records are merged, and a merge (Patient.link) is seen at the next lookup. A number with "
        "no Patient is never kept: a patient registered a minute ago is found.",
    )
    capabilities_ttl_s: float = Field(
        default=3600.0, gt=0, description="How long the source's CapabilityStatement is kept."
    )
    auth: UpstreamAuthSettings = Field(
        default_factory=UpstreamAuthSettings,
        description="Credentials sent to the registry (docs/configuration.md).",
    )
    tls: UpstreamTlsSettings = Field(
        default_factory=UpstreamTlsSettings, description="Client certificate and CA bundle."
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
        default=0.1,
        gt=0,
        description="Connect and socket timeout of Redis calls; a slow cache is a miss.",
    )
    breaker_failure_threshold: int = Field(
        default=3,
        ge=1,
        description="Consecutive failed Redis round trips after which the cache is skipped.",
    )
    breaker_reset_s: float = Field(
        default=5.0, gt=0, description="How long Redis is skipped before one probe tries it."
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


ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""The only JWS algorithms a token may use: symmetric (HS*) and ``none`` can never be allowed."""


class IssuerSettings(BaseModel):
    """One trusted OpenID Connect issuer (HelseID in production)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(
        description="The exact `iss` of its tokens, e.g. https://helseid-sts.nhn.no"
    )
    jwks_url: str = Field(description="Where its signing keys are published (JWKS).")
    audience: str = Field(description="The `aud` its tokens must carry for this gateway.")
    algorithms: tuple[str, ...] = Field(
        default=("RS256", "PS256", "ES256"), description="Accepted JWS algorithms."
    )

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not value:
            raise ValueError(f"only asymmetric algorithms are allowed, not {refused or 'none'}")
        return value


class AuthSettings(BaseModel):
    """Who may call: trusted issuers, or (for the demo only) the local development issuer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuers: tuple[IssuerSettings, ...] = Field(
        default=(), description="Trusted issuers; JSON list in GATEWAY_AUTH__ISSUERS."
    )
    dev_issuer: bool = Field(
        default=False,
        description="Trust the local development issuer (`summary-gateway token`). Demo only: "
        "refused together with any other issuer and on a non-loopback host.",
    )
    leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf.")
    max_token_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Longest bearer token; a longer one is refused before it is decoded.",
    )
    jwks_cache_s: int = Field(default=3600, ge=1, description="How long a fetched JWKS is used.")
    jwks_refetch_min_s: float = Field(
        default=30.0,
        ge=0,
        description="Least time between two refetches for an unknown `kid`: bogus tokens must "
        "not make us hammer the issuer.",
    )
    jwks_timeout_s: float = Field(default=3.0, gt=0, description="Timeout of one JWKS fetch.")


class AuditSettings(BaseModel):
    """The access log: SQLite in the data directory, or PostgreSQL when a DSN is set."""

    # A refused DSN is not quoted in the error: it may hold a password.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    postgres_dsn: SecretStr | None = Field(
        default=None, description="postgresql://user@host/db; unset: SQLite in data_dir."
    )
    postgres_schema: str = Field(
        default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Schema of the tables."
    )
    sqlite_file: str = Field(default="audit.sqlite3", description="File name inside data_dir.")
    max_batch: int = Field(
        default=500, ge=1, description="Most events written in one group commit."
    )
    write_timeout_s: float = Field(
        default=5.0, gt=0, description="A commit slower than this fails its requests closed."
    )

    @field_validator("postgres_dsn")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so that a typo is one line naming the setting, not the driver's traceback
        # at start; the messages never quote the DSN (it may hold a password).
        if value is not None:
            check_postgres_dsn(value.get_secret_value())
        return value


_PORT = re.compile(r"[0-9]{1,5}")


def check_postgres_dsn(dsn: str) -> None:
    """Raise ``ValueError`` (without quoting ``dsn``) unless it is a ``postgresql://`` URL whose
    hosts (``host[:port]``, several separated by commas, IPv6 in brackets) have valid ports."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("postgres_dsn must be a postgresql:// URL")
    hosts = parts.netloc.rpartition("@")[2]
    for host in hosts.split(",") if hosts else ():
        if host.startswith("["):
            _address, _bracket, after = host.partition("]")
            port = after.removeprefix(":")
        else:
            port = host.rpartition(":")[2] if ":" in host else ""
        if port and not (_PORT.fullmatch(port) and 1 <= int(port) <= 65535):
            raise ValueError("the port of each host must be a number from 1 to 65535")


class GraphQLSettings(BaseModel):
    """How much one GraphQL request may ask for, and how it may arrive.

    The defaults suit the demo (introspection, suggestions and automatic persisted queries on);
    ``GATEWAY_PROFILE=production`` picks :data:`PRODUCTION_GRAPHQL` instead
    (docs/graphql-over-http.md, "Production profile").
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
        # The paged lists count at their default page size (``first`` may be a variable, and a
        # validated document is cached for any variables); their hard cap is 100 a page.
        default_factory=lambda: {"AccessLogPage.entries": 20, "PrivacyAlertPage.alerts": 20},
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


class OperationsSettings(BaseModel):
    """How the gateway is run and watched: logs, metrics, tracing, shutdown
    (docs/deployment.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object a line (log platforms); text: plain."
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics answers only `Authorization: Bearer <token>`. Unset: "
        "open (it holds no patient data; keep it off the public route).",
    )
    tracing: Literal["off", "console", "otlp"] = Field(
        default="off",
        description="OpenTelemetry spans per request and upstream call: off (no cost), console "
        "(stdout), otlp (OTLP/HTTP to otlp_endpoint or OTEL_EXPORTER_OTLP_ENDPOINT).",
    )
    otlp_endpoint: str | None = Field(
        default=None, description="e.g. http://collector:4318/v1/traces; unset: OTel's default."
    )
    service_name: str = Field(default="summary-gateway", description="OTel service.name.")
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=4096,
        description="Request line and headers of one request, in bytes; more is answered 431 "
        "by the HTTP server before the rest is read (gateway/http/header_limit.py).",
    )
    shutdown_grace_s: float = Field(
        default=20.0,
        gt=0,
        description="After SIGTERM: how long requests in flight may take to finish before they "
        "are cancelled; the access log is flushed after them either way.",
    )


class IpsSettings(BaseModel):
    """The International Patient Summary document (``GET /fhir/Patient/$summary``): whether the
    gateway signs it, and with which key (``gateway/ips/signing.py``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signing: Literal["off", "on"] = Field(
        default="off",
        description="on: every summary document carries a JWS signature (Bundle.signature) and "
        "the public key is published at /fhir/.well-known/jwks.json.",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="PEM private key that signs the documents: EC P-256 (ES256) or RSA of at "
        "least 2048 bits (RS256). Unset: a generated key in data_dir, with the development "
        "issuer only.",
    )
    signing_key_id: str | None = Field(
        default=None,
        min_length=1,
        description="`kid` of that key; unset: its RFC 7638 JWK thumbprint.",
    )


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
        # Errors name the setting, never its value: it may be a key, a password or a DSN.
        hide_input_in_errors=True,
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
    medication_expiry_warning_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="medicationList flags an active prescription that expires within this many "
        "days.",
    )
    log_level: str = Field(default="INFO")
    data_dir: Path = Field(
        default=Path("var"),
        description="Where local state lives: the SQLite access log, the development issuer's "
        "key, the development document-signing key.",
    )
    auth: AuthSettings = AuthSettings()
    audit: AuditSettings = AuditSettings()
    graphql: GraphQLSettings = GraphQLSettings()
    ops: OperationsSettings = OperationsSettings()
    ips: IpsSettings = IpsSettings()

    @model_validator(mode="after")
    def _dev_issuer_stays_a_demo(self) -> Settings:
        # The development issuer signs tokens for anyone who can read a file on this host. It can
        # never share a process with a real issuer, nor listen beyond this machine.
        if self.auth.dev_issuer and self.auth.issuers:
            raise ValueError(
                "auth.dev_issuer cannot be combined with auth.issuers: the development issuer "
                "is for the demo only"
            )
        if self.auth.dev_issuer and self.profile == "production":
            raise ValueError("auth.dev_issuer is refused in the production profile")
        problem = self._unsafe_bind(self.host)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _production_signs_with_a_kept_key(self) -> Settings:
        # A generated key is for the demo: a production signature needs a key that is kept,
        # backed up and known to the receivers.
        ips = self.ips
        if self.profile == "production" and ips.signing == "on" and ips.signing_key_file is None:
            raise ValueError("ips.signing on needs ips.signing_key_file in the production profile")
        return self

    def _unsafe_bind(self, host: str) -> str | None:
        if self.auth.dev_issuer and not _is_loopback(host):
            return (
                f"auth.dev_issuer is refused on host {host!r}: the development issuer only "
                "serves a gateway bound to a loopback address"
            )
        return None

    def require_safe_bind(self, host: str) -> None:
        """Raise ConfigurationError when the development issuer would serve beyond loopback."""
        problem = self._unsafe_bind(host)
        if problem:
            raise ConfigurationError(problem)

    def require_auth(self) -> None:
        """Raise ConfigurationError when no caller could ever be authenticated."""
        if not self.auth.issuers and not self.auth.dev_issuer:
            raise ConfigurationError(
                "no token issuer is configured: set GATEWAY_AUTH__ISSUERS (production) or "
                "GATEWAY_AUTH__DEV_ISSUER=true (the local demo; `make demo` does this)"
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
