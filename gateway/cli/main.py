"""``summary-gateway``: run the demo, the mock registries, list fixtures, export the schema,
verify a signed summary document."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from pydantic import ValidationError

from gateway.errors import ConfigurationError
from gateway.ops.logs import configure_logging
from gateway.settings import Settings

if TYPE_CHECKING:
    from mocks.modes import Mode
    from mocks.sources import Source

log = logging.getLogger("gateway.cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summary-gateway",
        description="Patient-summary GraphQL gateway over national FHIR R4 registries.",
    )
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser(
        "serve",
        help="run the gateway (the default); starts the embedded mock registries for every "
        "source without a configured base URL",
    )
    serve.add_argument("--host", help="interface to listen on (default: settings, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: settings, 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); more than one needs every source's URL configured",
    )

    mocks = commands.add_parser("mocks", help="serve only the six mock registries")
    mocks.add_argument("--host", default="127.0.0.1")
    mocks.add_argument(
        "--base-port", type=int, default=8101, help="first of six consecutive ports (8101)"
    )
    mocks.add_argument("--population", type=int, default=None, help="generated patients")
    mocks.add_argument("--latency-ms", type=int, default=None, help="added to every response")
    mocks.add_argument(
        "--mode",
        action="append",
        default=[],
        metavar="[SOURCE=]MODE",
        help="how the registries answer searches: dialect (the default), standard, no-include, "
        "wrong-patient or strict (see mocks/modes.py); SOURCE=MODE for one registry only, "
        "repeatable",
    )

    commands.add_parser("fixtures", help="print the named fixture patients as JSON")

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("path", nargs="?", default="schema.graphql", help="'-' for stdout")

    token = commands.add_parser(
        "token", help="print a demo token from the local development issuer (demo only)"
    )
    token.add_argument("--list", action="store_true", help="list the personas")
    token.add_argument("--persona", help="whose token to print (see --list)")
    token.add_argument("--purpose", help="purpose of use instead of the persona's default")
    token.add_argument("--basis", help="access basis instead of the persona's default")
    token.add_argument("--reason", help="break-the-glass reason (with --purpose BTG)")
    token.add_argument("--minutes", type=int, default=480, help="lifetime (default 480)")

    verify_document = commands.add_parser(
        "verify-document",
        help="check the signature of a saved summary document (FHIR Bundle); exit 0 valid, "
        "1 invalid, 2 unreadable",
    )
    verify_document.add_argument("file", help="the document, as JSON")
    verify_document.add_argument(
        "--jwks",
        required=True,
        metavar="SOURCE",
        help="the signer's keys: a JWKS file, or its URL (the gateway's "
        "/fhir/.well-known/jwks.json)",
    )

    audit = commands.add_parser("audit", help="check the access log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="walk the hash chain; exit 1 naming the first broken record"
    )
    verify.add_argument(
        "--anchor", help="SEQ:HASH from an earlier `audit head`: also check that record"
    )
    audit_commands.add_parser("head", help="print the chain head (SEQ:HASH) to keep as an anchor")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if command == "fixtures":
        return _fixtures()
    if command == "export-schema":
        return _export_schema(args.path)
    if command == "verify-document":
        from gateway.cli.verify_document import run_verify_document

        return run_verify_document(args.file, args.jwks)
    try:
        settings = Settings()
    except ValidationError as exc:
        # Each problem by name and reason, never the value given: it may be a key or a DSN.
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            print(f"summary-gateway: invalid setting {where}: {error['msg']}", file=sys.stderr)
        return 1
    if command == "token":
        return _token(settings, args)
    if command == "audit":
        from gateway.cli.audit import run_audit_command

        return run_audit_command(settings, args.audit_command, getattr(args, "anchor", None))
    configure_logging(settings.log_level, settings.ops.log_format)
    if command == "mocks":
        return _mocks(settings, args)
    return _serve(
        settings,
        getattr(args, "host", None),
        getattr(args, "port", None),
        getattr(args, "workers", 1),
    )


def _fixtures() -> int:
    from mocks.fixtures import FIXTURES

    rows = [
        {
            "key": f.key,
            "nin": f.nin,
            "name": f.name,
            "tags": list(f.tags),
            "description": f.description,
        }
        for f in FIXTURES
    ]
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


def _export_schema(path: str) -> int:
    from strawberry.printer import print_schema

    from gateway.graphql.schema import build_schema

    sdl = print_schema(build_schema()) + "\n"
    if path == "-":
        sys.stdout.write(sdl)
    else:
        Path(path).write_text(sdl, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def _mocks(settings: Settings, args: argparse.Namespace) -> int:
    from mocks.runner import run_mocks
    from mocks.sources import Source

    try:
        modes = _mock_modes(args.mode)
    except ValueError as exc:
        print(f"summary-gateway mocks: --mode: {exc}", file=sys.stderr)
        return 2
    ports = {source: args.base_port + i for i, source in enumerate(Source)}
    population = args.population if args.population is not None else settings.demo.population_size
    latency = args.latency_ms if args.latency_ms is not None else settings.demo.latency_ms
    run_mocks(
        host=args.host,
        ports=ports,
        population_size=population,
        seed=settings.demo.seed,
        latency_ms=latency,
        mode=modes,
    )
    return 0


def _mock_modes(given: Sequence[str]) -> dict[Source, Mode]:
    """``--mode`` values (``MODE`` for every registry, ``SOURCE=MODE`` for one; later ones win)
    as the mode of each registry; ``ValueError`` names a source or mode that does not exist."""
    from mocks.modes import Mode
    from mocks.sources import Source

    modes = dict.fromkeys(Source, Mode.DIALECT)
    for value in given:
        name, equals, mode = value.rpartition("=")
        if mode not in set(Mode):
            raise ValueError(f"{mode!r} is not a mode ({', '.join(m.value for m in Mode)})")
        if equals and name not in set(Source):
            raise ValueError(f"{name!r} is not a registry ({', '.join(s.value for s in Source)})")
        for source in [Source(name)] if equals else list(Source):
            modes[source] = Mode(mode)
    return modes


def _serve(settings: Settings, host: str | None, port: int | None, workers: int = 1) -> int:
    import uvloop

    from gateway.cli.preflight import (
        require_access_log,
        require_privacy_support,
        require_real_sources,
        require_valid_trusted_documents,
    )

    host = host or settings.host
    port = port if port is not None else settings.port
    try:
        if workers < 1:
            raise ConfigurationError("--workers must be at least 1")
        settings.require_auth()
        settings.require_safe_bind(host)
        require_real_sources(settings, workers)
        require_valid_trusted_documents(settings)
        require_access_log(settings)
        require_privacy_support(settings)
    except ConfigurationError as exc:
        print(f"summary-gateway: {exc.message}", file=sys.stderr)
        return 1
    if workers > 1:
        from gateway.cli.workers import run_workers

        run_workers(settings, host, port, workers)
        return 0

    async def run() -> None:
        async with _demo_mocks(settings) as resolved:
            from gateway.app import create_app
            from gateway.cli.workers import uvicorn_options

            app = create_app(resolved)
            config = uvicorn.Config(
                app,
                host=host,
                port=port,
                loop="none",
                **uvicorn_options(resolved),  # type: ignore[arg-type]
            )
            server = _WelcomingServer(config, lambda: _print_welcome(host, port, resolved))
            # Once drained, uvicorn raises the signal that stopped it again under the handler it
            # found at start. With the default one the process would then die by SIGTERM (143);
            # with its own, it exits 0 after a clean drain, as ``--workers N`` does.
            signal.signal(signal.SIGTERM, server.handle_exit)
            await server.serve()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            uvloop.run(run())
    except OSError as exc:
        # Almost always a port in use: say so in one line instead of a stack trace.
        print(f"summary-gateway: cannot start: {exc.strerror or exc}", file=sys.stderr)
        print(
            "  Is another demo running? Stop it, choose --port, or point the sources at running "
            "registries (GATEWAY_SOURCES__<NAME>__BASE_URL).",
            file=sys.stderr,
        )
        return 1
    except ConfigurationError as exc:
        print(f"summary-gateway: {exc.message}", file=sys.stderr)
        return 1
    return 0


class _WelcomingServer(uvicorn.Server):
    """Prints the welcome once the port is bound, so a taken port fails with no welcome."""

    def __init__(self, config: uvicorn.Config, welcome: Callable[[], None]) -> None:
        super().__init__(config)
        self._welcome = welcome

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._welcome()


@contextlib.asynccontextmanager
async def _demo_mocks(settings: Settings) -> AsyncIterator[Settings]:
    """Start a mock registry for each source without a base URL; yield settings with their URLs."""
    unset = settings.sources.unset()
    if not unset:
        yield settings
        return
    from mocks.population import Population
    from mocks.runner import MockRegistries
    from mocks.sources import DEFAULT_PORTS, Source

    demo = settings.demo
    chosen = [Source(name) for name in unset]
    registries = MockRegistries(
        Population(seed=demo.seed, size=demo.population_size),
        sources=chosen,
        ports={s: DEFAULT_PORTS[s] for s in chosen},
        latency_ms=demo.latency_ms,
    )
    await registries.start()
    log.info("embedded mock registries started for: %s", ", ".join(unset))
    try:
        yield settings.with_source_urls(
            {source.value: url for source, url in registries.base_urls.items()}
        )
    finally:
        await registries.stop()


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.access.dev_issuer import DevIssuer
    from mocks.personas import TOKEN_PERSONAS, token_persona

    if args.list or not args.persona:
        for persona in TOKEN_PERSONAS:
            print(f"{persona.key:<22} {persona.description}")
        if not args.list:
            print("\nsummary-gateway token --persona NAME prints that persona's token.")
        return 0
    try:
        persona = token_persona(args.persona)
    except KeyError:
        print(f"summary-gateway: no persona {args.persona!r}; see --list", file=sys.stderr)
        return 1
    claims = dict(persona.claims)
    for option, claim in (("purpose", "purpose_of_use"), ("basis", "access_basis")):
        if getattr(args, option):
            claims[claim] = getattr(args, option).upper()
    if args.reason:
        claims["btg_reason"] = args.reason
    issuer = DevIssuer(settings.data_dir)
    print(issuer.token(claims, lifetime_s=args.minutes * 60))
    return 0


def _print_welcome(host: str, port: int, settings: Settings) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/graphql"
    lines = [
        "",
        f"  Patient-summary gateway: {url}",
        "  Open it in a browser: GraphiQL opens with the whole summary query",
        "  (resolvers/summary.graphql) for a fixture patient. Press Run.",
        "  Fixture patients: summary-gateway fixtures",
        "  Every request needs a token. In another terminal:",
        "    .venv/bin/summary-gateway token --persona home-care-nurse",
        "  and paste it into GraphiQL's Headers tab as",
        '    {"Authorization": "Bearer <token>"}   (personas: token --list)',
        "  Sources:",
        *(f"    {name:<14} {source.base_url}" for name, source in settings.sources.items()),
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
