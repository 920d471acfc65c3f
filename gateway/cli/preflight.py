"""Checks ``summary-gateway serve`` makes before it listens, each failing with one clear line.

The settings object refuses what is wrong on its face (the development issuer in the production
profile, Redis without an encryption key); these need the outside world or the way the gateway
is started: the access log must open, every registered (trusted) document must validate, and
production and several workers need every source's URL (the embedded mock registries are for the
single-process demo).
"""

from __future__ import annotations

import asyncio

import aiohttp

from gateway.audit import build_store
from gateway.audit.store import AuditUnavailable
from gateway.errors import ConfigurationError, SourceError
from gateway.graphql.persisted import check_trusted_documents
from gateway.graphql.schema import build_schema
from gateway.settings import Settings
from gateway.upstream.cache import UpstreamCache
from gateway.upstream.capabilities import require_consent
from gateway.upstream.fhir import FhirSource
from gateway.upstream.guard import Upstream


def require_real_sources(settings: Settings, workers: int) -> None:
    """Production and several workers start no mock registries: every source needs its URL."""
    missing = settings.sources.unset()
    if not missing:
        return
    if settings.profile == "production":
        why = "the production profile starts no mock registries"
    elif workers > 1:
        why = (
            "--workers starts no mock registries (each worker would start its own); run "
            "`summary-gateway mocks` and point the sources at it"
        )
    else:
        return
    raise ConfigurationError(
        f"{why}: set GATEWAY_SOURCES__<NAME>__BASE_URL for {', '.join(missing)}"
    )


async def _open_access_log(settings: Settings) -> None:
    store = build_store(settings)
    try:
        await asyncio.wait_for(store.open(), settings.audit.write_timeout_s)
    except (AuditUnavailable, TimeoutError, OSError) as exc:
        kind = "PostgreSQL" if settings.audit.postgres_dsn is not None else "SQLite"
        detail = str(exc) if isinstance(exc, AuditUnavailable) else type(exc).__name__
        raise ConfigurationError(f"the access log ({kind}) cannot be opened: {detail}") from exc
    finally:
        await store.close()


def require_access_log(settings: Settings) -> None:
    """Open (and create, if new) the access log once, so that a database that cannot be reached
    stops the start here instead of in every worker."""
    asyncio.run(_open_access_log(settings))


def require_valid_trusted_documents(settings: Settings) -> None:
    """Every registered document parses and validates against the schema, within the limits:
    checked here once, so that several workers do not each fail on it."""
    schema = build_schema(settings.operation_cache_size, settings.graphql)
    check_trusted_documents(settings.graphql.trusted_documents_dir, schema.request_errors)


async def _check_privacy_support(settings: Settings) -> None:
    source = settings.sources.core_record
    if source.base_url is None or source.privacy_enforced_by is not None:
        return  # the embedded mock core record holds Consents
    async with aiohttp.ClientSession() as session:
        try:
            upstream = Upstream("core_record", source, UpstreamCache.memory(settings))
            fhir = FhirSource("core_record", source, session, upstream)
            capabilities = await fhir.capabilities()
        except SourceError:
            return  # not reachable now: its privacy reads fail closed until it is
    require_consent(capabilities)


def require_privacy_support(settings: Settings) -> None:
    """The core record must hold privacy settings (Consent), or the deployment must say where
    they are enforced instead; checked once here, and again by each worker as it starts."""
    asyncio.run(_check_privacy_support(settings))
