"""The registry adapters: the HTTP one against a real server on 127.0.0.1, and the choice by settings.

The server answers ok, errors (HTTP 500, ``ok: false``, no JSON), hangs longer than the
timeout, or is absent (a closed port). Every failure is a ``RegistryError`` whose German
message names the cause; an order through a failing registry is kept as failed with a
technical ticket, and nothing is charged to the exposure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from deskapp.services import customers, orders
from deskapp.services.errors import InvalidInput
from deskapp.services.registry import (
    ENV_URL,
    HttpRegistry,
    Registry,
    RegistryError,
    SimulatedRegistry,
    registry_from_settings,
)
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import OrderStatus, Queue, TicketKind
from models.tables import Order, Ticket

TIMEOUT = 0.5  # seconds; the hanging server holds its answer far longer
POLICY = Policy()


class _Handler(BaseHTTPRequestHandler):
    """Answers by path; remembers every request body it was sent."""

    def do_POST(self):  # http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        if self.path == "/hang":
            self.server.release.wait(30)  # until the test is over
            return self._answer(200, {"ok": True})
        if self.path == "/ok":
            return self._answer(200, {"ok": True, "id": "R-1"})
        if self.path == "/created":
            return self._answer(201, {"ok": True})
        if self.path == "/refused":
            return self._answer(200, {"ok": False, "error": "Domain bereits vergeben"})
        if self.path == "/refused-silently":
            return self._answer(200, {"ok": False})
        if self.path == "/error500":
            return self._answer(500, {"ok": False, "error": "Wartungsarbeiten"})
        if self.path == "/error502-html":
            return self._answer(502, b"<html><body>Bad Gateway</body></html>")
        if self.path == "/garbage":
            return self._answer(200, b"<html>kein JSON</html>")
        if self.path == "/no-ok":
            return self._answer(200, {"status": "fine"})
        return self._answer(404, {"ok": False, "error": "unbekannter Pfad"})

    def _answer(self, status: int, payload) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:  # the client gave up (the hanging case)
            pass

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def server(monkeypatch):
    """A registry on 127.0.0.1 at a random port; ``base`` is its URL without a path."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(ENV_URL, raising=False)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.received = []
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _registry(server, path: str) -> HttpRegistry:
    return HttpRegistry(server.base + path, timeout_seconds=TIMEOUT)


def _fails(registry: Registry) -> str:
    with pytest.raises(RegistryError) as exc:
        registry.register("krume-backshop.de", "K-10001")
    return str(exc.value)


# --------------------------------------------------------------------------- the HTTP adapter


def test_http_registry_posts_the_order_as_json_and_accepts_ok(server):
    registry = _registry(server, "/ok")
    assert isinstance(registry, Registry)
    registry.register("krume-backshop.de", "K-10001")
    _registry(server, "/created").register("krume.shop", "K-10001")  # any 2xx counts
    assert server.received == [
        ("/ok", "application/json; charset=utf-8", {"item": "krume-backshop.de", "customer": "K-10001"}),
        ("/created", "application/json; charset=utf-8", {"item": "krume.shop", "customer": "K-10001"}),
    ]


def test_http_500_names_status_and_the_registrys_error(server):
    message = _fails(_registry(server, "/error500"))
    assert "HTTP-Fehler 500" in message and "Wartungsarbeiten" in message


def test_http_error_without_json_quotes_the_answer(server):
    message = _fails(_registry(server, "/error502-html"))
    assert "HTTP-Fehler 502" in message and "Bad Gateway" in message


def test_ok_false_is_a_refusal_with_the_registrys_reason(server):
    assert _fails(_registry(server, "/refused")) == (
        "Die Vergabestelle hat die Bestellung abgelehnt: Domain bereits vergeben"
    )
    assert "ohne Begründung" in _fails(_registry(server, "/refused-silently"))


def test_an_answer_that_is_not_json_or_lacks_ok_is_an_error(server):
    message = _fails(_registry(server, "/garbage"))
    assert "kein gültiges JSON" in message and "<html>kein JSON</html>" in message
    assert "ohne „ok“" in _fails(_registry(server, "/no-ok"))


def test_a_hanging_registry_times_out_after_the_configured_seconds(server):
    message = _fails(_registry(server, "/hang"))
    assert message == f"Vergabestelle nicht erreichbar: Zeitüberschreitung nach 0,5 s ({server.base}/hang)."
    assert [path for path, _, _ in server.received] == ["/hang"]  # it did reach the server


def test_an_absent_registry_is_connection_refused(closed_port):
    url = f"http://127.0.0.1:{closed_port}/orders"
    assert _fails(HttpRegistry(url, timeout_seconds=TIMEOUT)) == (
        f"Vergabestelle nicht erreichbar: Verbindung abgelehnt ({url})."
    )


@pytest.mark.parametrize("url", ["", "ftp://registry.example/", "file:///etc/passwd", "registry.example"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(InvalidInput) as exc:
        HttpRegistry(url, timeout_seconds=TIMEOUT)
    assert "ungültig" in exc.value.message


def test_timeout_must_be_positive():
    with pytest.raises(InvalidInput):
        HttpRegistry("http://127.0.0.1:9/", timeout_seconds=0)


# --------------------------------------------------------------------------- chosen by settings


def test_settings_choose_the_simulated_registry_by_default(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    registry = registry_from_settings(POLICY)
    assert isinstance(registry, SimulatedRegistry)
    registry.register("krume-backshop.de", "K-10001")


def test_settings_make_the_simulation_refuse_items(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    policy = POLICY.with_overrides({"registry_simulate_fail_items": "kaputt.de  auch-kaputt.de"})
    registry = registry_from_settings(policy)
    registry.register("heil.de", "K-1")
    for item in ("kaputt.de", "auch-kaputt.de"):
        with pytest.raises(RegistryError, match=f"Registrierung von {item} abgelehnt"):
            registry.register(item, "K-1")


def test_settings_make_the_simulation_unreachable_until_a_moment(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    # 12:00 Berlin (CET, UTC+1) on 10 March 2026 is 11:00 UTC.
    policy = POLICY.with_overrides({"registry_simulate_unreachable_until": "2026-03-10T12:00"})
    before = dt.datetime(2026, 3, 10, 10, 59, tzinfo=dt.timezone.utc)
    after = dt.datetime(2026, 3, 10, 11, 0, tzinfo=dt.timezone.utc)
    with pytest.raises(RegistryError, match="nicht erreichbar"):
        registry_from_settings(policy, now=before).register("a.de", "K-1")
    registry_from_settings(policy, now=after).register("a.de", "K-1")
    utc = POLICY.with_overrides({"registry_simulate_unreachable_until": "2026-03-10T11:00+00:00"})
    with pytest.raises(RegistryError):
        registry_from_settings(utc, now=before).register("a.de", "K-1")


def test_a_malformed_unreachable_until_setting_is_refused_clearly(monkeypatch):
    monkeypatch.delenv(ENV_URL, raising=False)
    policy = POLICY.with_overrides({"registry_simulate_unreachable_until": "morgen früh"})
    with pytest.raises(InvalidInput, match="kein Zeitpunkt"):
        registry_from_settings(policy)


def test_settings_with_a_url_choose_http_and_the_environment_wins(monkeypatch, server):
    monkeypatch.delenv(ENV_URL, raising=False)
    policy = POLICY.with_overrides({"registry_url": server.base + "/ok", "registry_timeout_seconds": "0.5"})
    registry = registry_from_settings(policy)
    assert registry == HttpRegistry(server.base + "/ok", 0.5)
    monkeypatch.setenv(ENV_URL, server.base + "/refused")
    assert registry_from_settings(policy).url == server.base + "/refused"
    assert registry_from_settings(POLICY).url == server.base + "/refused"


# --------------------------------------------------------------------------- an order through HTTP


@pytest.mark.parametrize("path", ["/error500", "/hang", "/garbage", None])
def test_order_through_a_failing_http_registry_is_failed_with_a_technical_ticket(
    engine, people, now, server, closed_port, path
):
    url = server.base + path if path else f"http://127.0.0.1:{closed_port}/"
    with write_session(engine) as s:
        customer = customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=now, created_at=now - dt.timedelta(days=400),
        )
    with write_session(engine) as s:
        result = orders.place_order(
            s, people["system"], customer_id=customer.id, item="krume-backshop.de", amount=Decimal("12.50"),
            now=now, policy=POLICY, registry=HttpRegistry(url, TIMEOUT),
        )
    assert result.status == OrderStatus.FAILED and result.ticket_number is not None
    assert result.exposure == Decimal("0.00") and result.headroom == Decimal("500.00")
    with read_session(engine) as s:
        status, error = s.execute(select(Order.status, Order.error).where(Order.id == result.order_id)).one()
        ticket = s.execute(
            select(Ticket.queue, Ticket.kind, Ticket.order_id, Ticket.body).where(
                Ticket.number == result.ticket_number
            )
        ).one()
        assert orders.exposure(s, customer.id) == Decimal("0.00")
    assert status == OrderStatus.FAILED and "Vergabestelle" in error
    assert (ticket.queue, ticket.kind, ticket.order_id) == (
        Queue.TECHNICAL, TicketKind.REGISTRY_FAILURE, result.order_id
    )
    assert error in ticket.body


def test_order_through_an_answering_http_registry_is_executed(engine, people, now, server):
    with write_session(engine) as s:
        customer = customers.create_customer(
            s, people["sara"], name="Conny Schuster", email="conny@example.de",
            credit_limit=Decimal("500.00"), now=now, created_at=now - dt.timedelta(days=400),
        )
        policy = dataclasses.replace(POLICY, registry_url=server.base + "/ok", registry_timeout_seconds=TIMEOUT)
        result = orders.place_order(
            s, people["system"], customer_id=customer.id, item="schuster.de", amount=Decimal("12.50"),
            now=now, policy=policy, registry=registry_from_settings(policy),
        )
    assert result.status == OrderStatus.EXECUTED
    # The order's id goes along as the idempotency key (docs/rules.md#order-protocol).
    assert server.received[-1][2] == {
        "item": "schuster.de", "customer": customer.number, "order_ref": f"desk-order-{result.order_id}",
    }
