"""The execution shortcuts that make a warm summary cheap, and what they rely on.

A warm summary took about 14 ms of CPU through graphql-core's general path and about 2 ms with
these. Each gives exactly the answer plain execution gives (data and errors, message and path),
as long as the invariants below hold; ``tests/gateway/execution/test_differential.py`` compares
the two on generated queries over the real schema, for several actors.

Modules:
- ``plans``: a plain selection completed by a plan made once per selection;
- ``shared_results``: the execution context using the plans, and keeping a plan's completion of a
  shared list; counts every fallback (``gateway_execution_fallbacks_total{reason}``);
- ``shared_list``: the lists mapped from a cached answer, which carry those completions;
- ``by_identity``: the memo, keyed by which objects rather than what they equal;
- ``validation_cache``: validation errors kept per parsed document;
- ``eager``: a resolver's coroutine finished at once when it never waits;
- ``reach``: the types a query can reach from a field, for checking the invariants.

Invariants:
1. A plan is made only for a selection with no arguments, variables, directives or fragments,
   no abstract type, no key twice, whose every field has strawberry's default resolver or a
   synchronous method reading nothing but its object (no info, root, context or arguments).
   Such a selection's completion is a function of the value and the selection alone.
2. A plan fits its value or raises before its result is used: a null in a non-null field, a
   value its scalar cannot coerce, a wrong object class, a missing attribute. Then the value is
   completed the general way (which reports the error as graphql-core does) and the fallback
   is counted, never swallowed.
3. A completion is shared between requests only when a plan produced it, and only on a
   ``SharedList``: a list made from one cached answer about one patient, never mutated, living
   only as long as its cache entry. Every request still runs its own section decision and
   access-log event; only the conversion to JSON is reused.
4. Memos are keyed by identity (``ByIdentity``) and hold the objects they are keyed by, so an
   id is never reused while its entry lives. The parser cache hands out the same document (and
   nodes) for the same text; a new document is a new key, never a wrong hit.
5. Validation results are kept per (schema, document, rules); validation is through
   graphql-core's public ``validate`` with the rules strawberry adds (``STRAWBERRY_RULES``).
6. ``now_or_later`` abandons a coroutine only before anything but joins of this request's
   searches (idempotent) has happened.
7. Plans and fallback counts belong to one schema (``Shortcuts``, whose ``context_class`` the
   schema executes with); nothing is process-global or built at import.

The private strawberry, graphql-core and asyncio names still relied on (no public one exists)
are listed, with the signatures expected, in ``tests/gateway/execution/test_private_names.py``:
an upgrade that changes one fails there first.
"""
