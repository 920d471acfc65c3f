"""The example production environment file names real settings and passes their validation."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from gateway.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "gateway.env.example"


def test_the_example_environment_file_is_a_valid_production_configuration(
    tmp_path: Path,
) -> None:
    filled = (
        EXAMPLE.read_text()
        .replace("<base64 of 32 random bytes>", base64.b64encode(os.urandom(32)).decode())
        .replace("/etc/summary-gateway/documents", str(tmp_path))
    )
    env_file = tmp_path / "gateway.env"
    env_file.write_text(filled)
    settings = Settings(_env_file=env_file)

    assert settings.profile == "production"
    assert not settings.graphiql and not settings.graphql.introspection
    assert settings.graphql.persisted_queries == "trusted"
    assert settings.sources.unset() == []
    assert settings.cache.redis_url is not None and settings.cache.key_bytes() is not None
    assert settings.audit.postgres_dsn is not None
    assert settings.auth.issuers and not settings.auth.dev_issuer
    assert settings.ops.metrics_token is not None
