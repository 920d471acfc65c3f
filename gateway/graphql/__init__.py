"""The GraphQL schema and what guards a document: context, limits, persisted documents, scalars,
input checks, the Section interface."""
