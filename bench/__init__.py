"""The benchmark harness: the summary gateway measured against its own ceiling and a peer.

``python -m bench`` (``make bench``) starts the mock registries, a local token issuer, the
gateway under uvicorn in its production-like variants, a bare ASGI ceiling and the peer (Hive
Gateway over GraphQL Mesh Compose), drives each with ``wrk`` and writes ``bench/results/``.
Every figure is a ratio of two measurements taken in the same run, so machine noise cancels.
"""
