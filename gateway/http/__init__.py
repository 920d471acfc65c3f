"""The gateway's HTTP surface: the GraphQL view, CSRF, size limits, security headers, GraphiQL,
probes, the uvicorn protocol."""
