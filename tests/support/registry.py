"""A real registry (Vergabestelle) on 127.0.0.1 for fault tests: stdlib ``http.server`` in a thread.

It speaks the protocol of ``deskapp.services.registry``: ``POST /`` with ``{"item",
"customer", "order_ref"}`` executes a ref at most once (a repeat of an executed ref is
answered ok, ``"already": true``); ``GET /orders/<ref>`` answers its status. It records
every request, and the test tells it how to behave:

* ``hold()`` — every POST waits (after being recorded) until ``release()``; it then
  executes the ref and answers, whether or not the client is still there.
* ``delay`` — seconds every POST waits before executing and answering (a late answer).
* ``trickle`` — answer headers at once, then the body one byte per ``trickle`` seconds.
* ``refuse(item)`` — refuse that item (``ok: false``).
* ``lose`` — held requests are dropped on release, unexecuted and unanswered (the request
  never got through).

``executions[ref]`` counts how often a ref was really executed; ``posts`` and ``gets``
list the refs in the order they arrived.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT = 20  # seconds a held request waits at most (the test releases it long before)


class _Handler(BaseHTTPRequestHandler):
    server: "RegistryServer"

    def do_POST(self):  # http.server's naming
        reg = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        ref = body.get("order_ref")
        with reg.lock:
            reg.posts.append(ref)
            reg.arrived.notify_all()
        if reg.held.is_set():
            reg.released.wait(WAIT)
            if reg.lose:
                with reg.lock:
                    reg.lost.append(ref)
                    reg.arrived.notify_all()
                self.close_connection = True
                return
        if reg.delay:
            time.sleep(reg.delay)
        with reg.lock:
            if body.get("item") in reg.refused:
                reg.states[ref] = ("failed", "Domain bereits vergeben")
                answer = {"ok": False, "error": "Domain bereits vergeben"}
            elif reg.states.get(ref, ("",))[0] == "executed":
                answer = {"ok": True, "already": True}
            else:
                reg.states[ref] = ("executed", "")
                reg.executions[ref] += 1
                answer = {"ok": True}
            reg.arrived.notify_all()
        self._answer(200, answer)

    def do_GET(self):  # http.server's naming
        reg = self.server
        prefix = "/orders/"
        if not self.path.startswith(prefix):
            return self._answer(404, {"error": "unbekannter Pfad"})
        ref = urllib.parse.unquote(self.path[len(prefix):])
        with reg.lock:
            reg.gets.append(ref)
            state = reg.states.get(ref)
        if state is None:
            return self._answer(404, {"status": "unknown"})
        return self._answer(200, {"status": state[0], "error": state[1]})

    def _answer(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.server.trickle:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(self.server.trickle)
            else:
                self.wfile.write(data)
        except OSError:  # the client is gone (killed, or past its deadline)
            pass

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


class RegistryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.posts: list[str | None] = []
        self.gets: list[str] = []
        self.executions: Counter[str] = Counter()
        self.states: dict[str, tuple[str, str]] = {}
        self.refused: set[str] = set()
        self.held = threading.Event()
        self.released = threading.Event()
        self.delay = 0.0
        self.trickle = 0.0
        self.lose = False
        self.lost: list[str | None] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> "RegistryServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)

    def hold(self) -> None:
        self.released.clear()
        self.held.set()

    def release(self) -> None:
        self.held.clear()
        self.released.set()

    def refuse(self, item: str) -> None:
        self.refused.add(item)

    def wait_for(self, predicate, timeout: float = 15) -> None:
        """Until ``predicate(self)`` holds (checked whenever a request arrives or finishes)."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: predicate(self), timeout), "the registry never saw that"
