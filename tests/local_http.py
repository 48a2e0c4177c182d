"""A threaded HTTP server on 127.0.0.1 for the tests' fakes of Google's endpoints."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHttpServer:
    """Serves `handler_class()` on an ephemeral port of 127.0.0.1 from a daemon thread.

    Subclasses define `handler_class()` (and may set `server_class`): `start()` / `stop()` or
    `with Subclass() as server:`, then `base_url`."""

    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer
    thread_name = "local-http-server"

    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self):  # noqa: ANN201 (returns the subclass)
        if self._server is not None:
            return self
        self._server = self.server_class(("127.0.0.1", 0), self.handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=self.thread_name)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):  # noqa: ANN204
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"
