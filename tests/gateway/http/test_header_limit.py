"""What ``gateway/http/header_limit.py`` relies on in uvicorn's httptools protocol: if an upgrade
renames or drops one of these, this fails before the header bound silently stops working."""

from __future__ import annotations

import inspect

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.cli.workers import uvicorn_options
from gateway.http.drain import DrainingHttpToolsProtocol
from gateway.http.header_limit import HeaderLimitProtocol
from gateway.settings import Settings


def test_the_httptools_protocol_still_has_what_the_header_bound_overrides() -> None:
    for method in ("data_received", "on_headers_complete", "on_message_complete"):
        assert callable(getattr(HttpToolsProtocol, method)), method
    init = inspect.getsource(HttpToolsProtocol.__init__)
    for attribute in ("self.config", "self.loop", "self.transport"):
        assert attribute in init, attribute
    assert "h11_max_incomplete_event_size" in inspect.signature(Config).parameters


def test_every_way_of_serving_uses_the_bounded_draining_protocol_with_the_configured_limit() -> (
    None
):
    settings = Settings.model_validate({"ops": {"max_header_bytes": 12345}})
    options = uvicorn_options(settings)
    protocol = options["http"]
    assert isinstance(protocol, type)
    assert issubclass(protocol, HeaderLimitProtocol)
    assert issubclass(protocol, DrainingHttpToolsProtocol)
    assert options["h11_max_incomplete_event_size"] == 12345
