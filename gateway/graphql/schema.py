"""The GraphQL schema, assembled from ``resolvers/``, with the extensions every request runs.

Nothing is built at import: ``build_schema`` makes a schema (with its own execution shortcuts,
``gateway/execution/``) for whoever needs one, the app or ``summary-gateway export-schema``.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, GraphQLSyntaxError, parse, specified_rules
from strawberry.extensions import (
    AddValidationRules,
    ParserCache,
    SchemaExtension,
)
from strawberry.types import ExecutionContext

from gateway.audit.store import AuditUnavailable
from gateway.errors import AccessLogUnavailable, BadUserInput, GatewayError
from gateway.execution.shared_results import LabelledCounter, Shortcuts
from gateway.execution.validation_cache import CachedValidation, ValidationResults, validate
from gateway.graphql.context import Context
from gateway.graphql.introspection import NoIntrospection, without_suggestions
from gateway.graphql.limits import TokenLimit, limit_rules, token_limit_error
from gateway.graphql.scalars import SCALAR_OVERRIDES
from gateway.graphql.value_errors import is_variable_error, safe_variable_message, without_value
from gateway.settings import GraphQLSettings
from resolvers.mutation import Mutation
from resolvers.query import Query


class CloseFetches(SchemaExtension):
    """Cancels any upstream search a request started but never awaited (a null parent, an error)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.fetches.aclose()


class WriteAccessLog(SchemaExtension):
    """Makes the request's access-log events durable before its answer can leave.

    Runs after execution: if the write fails, the exception replaces the whole result, so the
    client gets ``AUDIT_UNAVAILABLE`` and ``data: null``, never patient data that is not on
    record. Listed before ``CloseFetches`` so that it exits after it.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if not isinstance(context, Context):
            raise AccessLogUnavailable("no access log for this request")
        trail = context.audit
        try:
            await context.audit_writer.commit(trail.events, trail.alerts())
        except AuditUnavailable as exc:
            raise AccessLogUnavailable(
                "the access log cannot be written right now, so no patient data is returned"
            ) from exc


class CodeValidationErrors(SchemaExtension):
    """Gives graphql-core's validation errors Apollo's ``GRAPHQL_VALIDATION_FAILED`` code."""

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or []:
            if not error.extensions or "code" not in error.extensions:
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}


log = logging.getLogger("gateway.errors")


def _gateway_error(error: GraphQLError) -> GatewayError | None:
    cause: BaseException | None = error.original_error
    while cause is not None:
        if isinstance(cause, GatewayError):
            return cause
        cause = cause.original_error if isinstance(cause, GraphQLError) else None
    return None


class GatewaySchema(strawberry.Schema):
    """strawberry's schema, with errors made safe to show and to log.

    graphql-core's messages for bad input end in ``found: '<the value>'``, which for an identity
    number is patient data; unexpected exceptions may carry anything. So: our own errors show only
    their own message; graphql-core's about a variable or a literal keep their words but lose the
    value (``gateway/graphql/value_errors.py``); unexpected ones show a generic message with the
    request id, and their detail goes to the log as the exception type and stack, never the message.
    With suggestions off, no message says "Did you mean …?".

    Every error leaves with an ``extensions.code``: graphql-core's own parse and validation
    errors get Apollo's ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``, variable
    coercion errors ``BAD_USER_INPUT``.
    """

    def __init__(
        self,
        *args: Any,
        field_suggestions: bool = True,
        validation_rules: Sequence[type[ASTValidationRule]] = (),
        max_tokens: int | None = None,
        shortcuts: Shortcuts | None = None,
        **kwargs: Any,
    ) -> None:
        # The execution shortcuts, when on, are this schema's own (``gateway/execution/``).
        self.shortcuts = shortcuts
        if shortcuts is not None:
            kwargs["execution_context_class"] = shortcuts.context_class
        super().__init__(*args, **kwargs)
        self.field_suggestions = field_suggestions
        # What the extensions (TokenLimit, AddValidationRules) apply, for ``request_errors``.
        self._validation_rules = (*specified_rules, *validation_rules)
        self._max_tokens = max_tokens

    def request_errors(self, text: str) -> list[GraphQLError]:
        """What a request sending ``text`` would be refused for before execution (parse and
        validation errors, limits included), without running anything: for checking
        registered documents at start."""
        try:
            document = parse(text, max_lexical_tokens=self._max_tokens)
        except GraphQLSyntaxError as error:
            token_limit_error(error)
            return [error]
        return validate(self._schema, document, self._validation_rules)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context else None
        request_id = context.request_id if isinstance(context, Context) else None
        for error in errors:
            if error.original_error is None and error.path is None:
                self._classify_request_error(error)
                continue
            known = _gateway_error(error)
            if isinstance(known, BadUserInput):
                error.message = known.message
                log.info("refused bad input: %s", known.message)
            elif known is None and is_variable_error(error):
                # graphql-core could not coerce a variable: the caller's mistake, not ours.
                error.message = self._without_suggestions(safe_variable_message(error.message))
                error.extensions = {"code": "BAD_USER_INPUT"}
                log.info("refused a variable: %s", error.message)
            elif known is not None:
                log.warning("%s at %s: %s", known.code, error.path, known.message)
            elif error.original_error is not None:
                original = error.original_error
                stack = "".join(traceback.format_tb(original.__traceback__))
                log.error(
                    "unexpected %s at %s (request %s)\n%s",
                    type(original).__name__,
                    error.path,
                    request_id,
                    stack,
                )
                error.message = f"Internal error (request id {request_id})"
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}

    def _classify_request_error(self, error: GraphQLError) -> None:
        """Give graphql-core's own pre-execution errors a code (ours keep theirs)."""
        if isinstance(error, GraphQLSyntaxError):
            if not token_limit_error(error):
                error.extensions = {"code": "GRAPHQL_PARSE_FAILED"}
            return
        error.message = self._without_suggestions(without_value(error.message) or error.message)
        if not error.extensions or "code" not in error.extensions:
            # Validation errors were coded by CodeValidationErrors; what is left before
            # execution is graphql-core's coercion of the variables.
            error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}

    def _without_suggestions(self, message: str) -> str:
        return message if self.field_suggestions else without_suggestions(message)


def build_schema(
    operation_cache_size: int = 1000,
    graphql: GraphQLSettings | None = None,
    *,
    shortcuts: bool = True,
    fallbacks: LabelledCounter | None = None,
) -> GatewaySchema:
    """The schema; the parser and validation caches make repeated documents cheap (validation
    is the largest single cost of an uncached summary query). ``graphql`` sets the limits
    (``gateway/graphql/limits.py``), introspection and suggestions. ``shortcuts=False`` runs
    strawberry's own executor, without plans or shared completions: what the shortcuts are
    compared with in tests. ``fallbacks`` counts the shortcuts' fallbacks (the app's metric)."""
    graphql = graphql if graphql is not None else GraphQLSettings()
    rules = limit_rules(graphql)
    if not graphql.introspection:
        rules.append(NoIntrospection)
    return GatewaySchema(
        validation_rules=rules,
        max_tokens=graphql.max_tokens,
        query=Query,
        mutation=Mutation,
        scalar_overrides=SCALAR_OVERRIDES,
        field_suggestions=graphql.field_suggestions,
        shortcuts=Shortcuts(fallbacks) if shortcuts else None,
        extensions=[
            functools.partial(TokenLimit, graphql.max_tokens),
            functools.partial(AddValidationRules, rules),
            functools.partial(ParserCache, maxsize=operation_cache_size),
            functools.partial(CachedValidation, ValidationResults(operation_cache_size)),
            WriteAccessLog,
            CodeValidationErrors,
            CloseFetches,
        ],
    )
