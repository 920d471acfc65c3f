"""Persisted documents: operations sent by their SHA-256 hash instead of their text.

Requests use Apollo's format, ``"extensions": {"persistedQuery": {"version": 1, "sha256Hash":
"<64 hex digits>"}}``, with or without ``query``. ``graphql.persisted_queries`` picks the mode:

``off``      Query text only; a hash is refused (``PERSISTED_QUERY_NOT_SUPPORTED``).
``apq``      Automatic persisted queries (the demo): an unknown hash gets
             ``PERSISTED_QUERY_NOT_FOUND``, the client resends hash and text, the gateway checks
             the hash and remembers the text (bounded, least recently used first out). Registered
             documents are known from the start. Plain query text is still accepted.
``trusted``  Trusted documents only (production): the ``.graphql`` files under
             ``graphql.trusted_documents_dir``, each hashed over its exact bytes. A request names
             one by hash, or sends text whose hash is registered; anything else is refused with
             ``PERSISTED_QUERY_NOT_ALLOWED``, and an unknown hash with
             ``PERSISTED_QUERY_NOT_FOUND``.

A hash that does not match the text sent with it is ``PERSISTED_QUERY_HASH_MISMATCH``; a
malformed ``persistedQuery`` is ``PERSISTED_QUERY_INVALID``.

Registered documents are parsed and validated when the app is built
(:func:`check_trusted_documents`): one with a typo stops the start, naming its file, instead of
failing every request that sends its hash.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from graphql import GraphQLError

from gateway.errors import ConfigurationError
from gateway.settings import GraphQLSettings

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def document_hash(text: str) -> str:
    """The hash a client sends for ``text``: SHA-256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _document_files(directory: Path) -> Iterator[tuple[Path, str]]:
    """Every ``*.graphql`` file under ``directory`` (recursively) and its text, by path."""
    if not directory.is_dir():
        raise ConfigurationError(f"trusted_documents_dir {directory} is not a directory")
    for path in sorted(directory.rglob("*.graphql")):
        yield path, path.read_bytes().decode("utf-8")


def load_documents(directory: Path) -> dict[str, str]:
    """Every ``*.graphql`` file under ``directory`` (recursively), by hash."""
    return {document_hash(text): text for _path, text in _document_files(directory)}


def check_trusted_documents(
    directory: Path | None, request_errors: Callable[[str], list[GraphQLError]]
) -> None:
    """Raise :class:`ConfigurationError` naming every registered document (file, line, column,
    first problem) that ``request_errors`` refuses: the schema's parse and validation errors,
    limits included, as a request sending it would get them."""
    if directory is None:
        return
    problems: list[str] = []
    for path, text in _document_files(directory):
        errors = request_errors(text)
        if not errors:
            continue
        where = path.relative_to(directory).as_posix()
        locations = errors[0].locations or []
        if locations:
            where += f":{locations[0].line}:{locations[0].column}"
        problems.append(f"{where}: {errors[0].message}")
    if problems:
        raise ConfigurationError(
            f"trusted documents in {directory} that no request could run: " + "; ".join(problems)
        )


class PersistedQueryError(GraphQLError):
    """A persisted-document failure, with Apollo's codes (and its message for a miss)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, extensions={"code": code})


class PersistedDocuments:
    """Turns ``(query, extensions)`` into the document text to run, per the configured mode."""

    def __init__(self, settings: GraphQLSettings) -> None:
        self.mode = settings.persisted_queries
        directory = settings.trusted_documents_dir
        if self.mode == "trusted" and directory is None:
            raise ConfigurationError(
                "graphql.persisted_queries is 'trusted' but graphql.trusted_documents_dir is "
                "unset: set GATEWAY_GRAPHQL__TRUSTED_DOCUMENTS_DIR"
            )
        self.trusted = load_documents(directory) if directory is not None else {}
        self._automatic: OrderedDict[str, str] = OrderedDict()
        self._automatic_size = settings.apq_cache_size

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The text to execute; raises :class:`PersistedQueryError` when the request may not run.

        ``None`` means no document at all (strawberry answers that with a 400).
        """
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if (
                self.mode == "trusted"
                and query is not None
                and document_hash(query) not in (self.trusted)
            ):
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_ALLOWED",
                    "Only registered documents may run on this gateway; send a registered "
                    "document's hash in extensions.persistedQuery.",
                )
            return query
        if self.mode == "off":
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported")
        sha = _valid_hash(persisted)
        if query is None:
            known = self.trusted.get(sha) or self._remembered(sha)
            if known is None:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            return known
        if document_hash(query) != sha:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "The query's SHA-256 hash is not sha256Hash."
            )
        if sha in self.trusted:
            return query
        if self.mode == "trusted":
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_ALLOWED", "Only registered documents may run on this gateway."
            )
        self._remember(sha, query)
        return query

    def _remembered(self, sha: str) -> str | None:
        if self.mode != "apq":
            return None
        text = self._automatic.get(sha)
        if text is not None:
            self._automatic.move_to_end(sha)
        return text

    def _remember(self, sha: str, text: str) -> None:
        self._automatic[sha] = text
        self._automatic.move_to_end(sha)
        while len(self._automatic) > self._automatic_size:
            self._automatic.popitem(last=False)


def _valid_hash(persisted: object) -> str:
    if (
        isinstance(persisted, dict)
        and persisted.get("version") == 1
        and isinstance(sha := persisted.get("sha256Hash"), str)
        and _SHA256_HEX.fullmatch(sha)
    ):
        return sha
    raise PersistedQueryError(
        "PERSISTED_QUERY_INVALID",
        'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 lowercase hex>"}.',
    )
