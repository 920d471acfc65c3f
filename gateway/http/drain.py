"""How a gateway process lets its HTTP connections go on SIGTERM, with one worker or many.

uvicorn's own drain closes every idle kept-alive connection the moment shutdown begins. A client
that sends its next request on such a connection a moment later (it cannot know) gets the
connection closed or reset under that request, unanswered: with ``--workers 2`` every request sent
after the signal on an open connection was lost. Here an idle connection stays open until its
keep-alive timeout (uvicorn's, 5 s) closes it as it would have anyway; a request arriving on it
meanwhile is answered with ``Connection: close`` and the connection is closed after the answer. A
request in flight is answered the same way. New connections are refused: each worker closes its
copy of the listening socket, and with ``--workers N`` the supervisor closes its own before it
forwards the signal (else the kernel kept accepting connections no worker would ever serve).
The shutdown waits for the connections within the grace period (``GATEWAY_OPS__SHUTDOWN_GRACE_S``).

This relies on uvicorn internals, named in ``tests/gateway/http/test_drain.py`` so that an upgrade
that changes them fails there first: ``HttpToolsProtocol.shutdown()`` (called once per
connection when shutdown begins), ``on_headers_complete()`` (makes ``self.cycle``, the request
being answered), ``RequestResponseCycle.keep_alive`` and ``.response_complete``, and the
keep-alive timer ``timeout_keep_alive_task`` / ``timeout_keep_alive_handler()`` (cancelled by
``data_received`` whenever bytes arrive), and ``Multiprocess.terminate_all()`` with
``.sockets`` (the supervisor's exit, and the sockets it bound).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, whose shutdown answers the requests still coming on open
    connections (with ``Connection: close``) instead of closing the connections under them."""

    draining = False

    def shutdown(self) -> None:
        """Shutdown began: answer what is in flight and what still arrives, each as the last."""
        self.draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        elif self.timeout_keep_alive_task is None:
            # Connected but nothing answered yet, so no keep-alive timer runs: give it one, or
            # a silent client would hold the shutdown for the whole grace period.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
        # Otherwise idle after an answer: its keep-alive timer closes it, unless a request
        # arrives first (on_headers_complete below).

    def on_headers_complete(self) -> None:
        """A request arrived; while draining, its answer says ``Connection: close``."""
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False


class DrainingMultiprocess(Multiprocess):
    """uvicorn's supervisor of worker processes, which stops listening before its workers drain."""

    def terminate_all(self) -> None:
        """Close the supervisor's listening sockets, then SIGTERM every worker."""
        for sock in self.sockets:
            sock.close()
        super().terminate_all()
