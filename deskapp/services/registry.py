"""The registry (Vergabestelle) that executes real-time orders such as domain registrations.

The desk talks to it through ``Registry``. Two implementations:

* ``SimulatedRegistry`` — built in, the default (demo, tests, a desk without a registry
  contract). Settings can make it refuse certain items or be unreachable for a while.
* ``HttpRegistry`` — HTTP/JSON to a configured URL with a deadline: it POSTs
  ``{"item": ..., "customer": ..., "order_ref": ...}`` and expects a 2xx answer
  ``{"ok": true}``.

The idempotency key. Every order the desk sends carries ``order_ref``, ``desk-order-<id>``
(``order_ref(order_id)``; the id of the ``order_`` row, committed as ``pending`` before
the registry is asked — docs/rules.md#credit-limit). The registry executes one ref at
most once: a repeat ``register`` of a ref it executed answers ``{"ok": true}`` again
(optionally ``"already": true``) without executing it twice. A ref whose earlier attempt
the registry refused may be tried again.

The status query. ``status(order_ref)`` asks what became of a ref, without executing
anything: ``GET <url>/orders/<order_ref>`` (the ref URL-quoted) answers 200 with
``{"status": "executed"}``, ``{"status": "failed", "error": "..."}`` or
``{"status": "unknown"}``; a 404 also means unknown (the registry never saw the ref).
``deskapp orders recover`` uses it for orders left pending (a crash or a lost database
connection between the two transactions); it never calls ``register`` blind.

The deadline. ``timeout_seconds`` bounds the whole request — connecting, sending,
waiting and reading — not each socket operation: the request runs in a worker thread
and the caller stops waiting when the time is up (a registry trickling its answer byte
by byte cannot hold an order longer). A request past its deadline is a ``RegistryError``;
whether the registry executed it is then unknown, which the ref makes safe to ask again.

``registry_from_settings`` picks one from the policy settings (``registry_url``; the
environment variable ``DESK_REGISTRY_URL`` wins over the stored setting).

Every failure is a ``RegistryError`` whose German message names the cause; the order
service stores that message on the failed order and in the technical ticket.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..settings import TIMEZONE, Policy
from .errors import InvalidInput

ENV_URL = "DESK_REGISTRY_URL"
# How much of a non-JSON or error body is quoted in the message (technical ticket).
QUOTE_CHARS = 200

# User-facing text (German).
MSG_UNREACHABLE = "Die Vergabestelle ist nicht erreichbar (Zeitüberschreitung)."
MSG_SIM_REFUSED = "Die Vergabestelle hat die Registrierung von {item} abgelehnt."
MSG_TIMEOUT = "Vergabestelle nicht erreichbar: Zeitüberschreitung nach {seconds} s ({url})."
MSG_REFUSED_CONN = "Vergabestelle nicht erreichbar: Verbindung abgelehnt ({url})."
MSG_NETWORK = "Vergabestelle nicht erreichbar: {reason} ({url})."
MSG_HTTP = "Vergabestelle antwortet mit HTTP-Fehler {status}{detail} ({url})."
MSG_REJECTED = "Die Vergabestelle hat die Bestellung abgelehnt: {error}"
MSG_REJECTED_NO_REASON = "Die Vergabestelle hat die Bestellung abgelehnt (ohne Begründung)."
MSG_BAD_ANSWER = "Vergabestelle: unverständliche Antwort (kein gültiges JSON): {quote}"
MSG_BAD_SHAPE = "Vergabestelle: unerwartete Antwort ohne \u201eok\u201c: {quote}"
MSG_BAD_URL = "Die Adresse der Vergabestelle '{url}' ist ungültig (erwartet http:// oder https://)."
MSG_BAD_TIMEOUT = "Die Zeitüberschreitung für die Vergabestelle muss größer als 0 s sein."
MSG_BAD_UNTIL = (
    "Die Einstellung registry_simulate_unreachable_until '{value}' ist kein Zeitpunkt "
    "(erwartet ISO 8601, z. B. 2026-03-10T12:00)."
)


MSG_BAD_STATUS = "Vergabestelle: unerwartete Statusantwort: {quote}"

ORDER_REF_PREFIX = "desk-order-"
EXECUTED = "executed"
FAILED = "failed"
UNKNOWN = "unknown"


class RegistryError(Exception):
    """The registry refused the order or could not be reached. The message is German."""


@dataclass(frozen=True)
class RegistryStatus:
    """What the registry knows of an order ref: ``executed``, ``failed`` (with its reason) or ``unknown``."""

    state: str
    reason: str = ""


def order_ref(order_id: int) -> str:
    """The idempotency key the desk sends for an order: ``desk-order-<id>``."""
    return f"{ORDER_REF_PREFIX}{order_id}"


@runtime_checkable
class Registry(Protocol):
    def register(self, item: str, customer_number: str, order_ref: str | None = None) -> None:
        """Execute the order once per ``order_ref``; raise ``RegistryError`` when it cannot be done."""

    def status(self, order_ref: str) -> RegistryStatus:
        """What became of ``order_ref``; ``RegistryError`` when the registry cannot say."""


@dataclass
class SimulatedRegistry:
    """Accepts everything except ``fail_items``; ``unreachable`` fails every call.

    It remembers the refs it was sent: a repeat of an executed ref is answered ok and not
    executed again (``registered`` lists each execution once).
    """

    fail_items: set[str] = field(default_factory=set)
    unreachable: bool = False
    registered: list[tuple[str, str]] = field(default_factory=list)
    refs: dict[str, RegistryStatus] = field(default_factory=dict)

    def register(self, item: str, customer_number: str, order_ref: str | None = None) -> None:
        if self.unreachable:
            raise RegistryError(MSG_UNREACHABLE)
        if order_ref is not None and self.refs.get(order_ref, RegistryStatus(UNKNOWN)).state == EXECUTED:
            return
        if item in self.fail_items:
            message = MSG_SIM_REFUSED.format(item=item)
            if order_ref is not None:
                self.refs[order_ref] = RegistryStatus(FAILED, message)
            raise RegistryError(message)
        self.registered.append((item, customer_number))
        if order_ref is not None:
            self.refs[order_ref] = RegistryStatus(EXECUTED)

    def status(self, order_ref: str) -> RegistryStatus:
        if self.unreachable:
            raise RegistryError(MSG_UNREACHABLE)
        return self.refs.get(order_ref, RegistryStatus(UNKNOWN))


class _NotFound(Exception):
    """A 404 to a status query: the registry does not know the ref."""


def _seconds_de(seconds: float) -> str:
    """``5.0`` → ``5``, ``0.5`` → ``0,5``."""
    return f"{seconds:g}".replace(".", ",")


def _quote(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    if not text:
        return "(leer)"
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"


def _is_timeout(exc: BaseException | None) -> bool:
    return isinstance(exc, (TimeoutError, socket.timeout))


@dataclass(frozen=True)
class HttpRegistry:
    """The registry over HTTP/JSON: POST ``{"item", "customer", "order_ref"}``, expect
    ``{"ok": true}``; ``GET <url>/orders/<ref>`` for the status (see the module docstring).

    ``timeout_seconds`` bounds the whole request (the deadline), not each socket wait.
    """

    url: str
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(MSG_BAD_URL.format(url=self.url))
        if not self.timeout_seconds > 0:
            raise InvalidInput(MSG_BAD_TIMEOUT)

    def register(self, item: str, customer_number: str, order_ref: str | None = None) -> None:
        import urllib.request  # with the first order, not with the desk (http.client, email.parser)

        payload = {"item": item, "customer": customer_number}
        if order_ref is not None:
            payload["order_ref"] = order_ref
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        )
        self._check_answer(self._within_deadline(request))

    def status(self, order_ref: str) -> RegistryStatus:
        import urllib.request

        url = self.url.rstrip("/") + "/orders/" + urllib.parse.quote(order_ref, safe="")
        request = urllib.request.Request(url, method="GET", headers={"Accept": "application/json"})
        try:
            raw = self._within_deadline(request, not_found_ok=True)
        except _NotFound:
            return RegistryStatus(UNKNOWN)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise RegistryError(MSG_BAD_STATUS.format(quote=_quote(raw))) from None
        state = answer.get("status") if isinstance(answer, dict) else None
        if state not in (EXECUTED, FAILED, UNKNOWN):
            raise RegistryError(MSG_BAD_STATUS.format(quote=_quote(raw)))
        reason = str(answer.get("error") or "") if state == FAILED else ""
        return RegistryStatus(state, reason)

    def _within_deadline(self, request: urllib.request.Request, *, not_found_ok: bool = False) -> bytes:
        """The answer's body, or ``RegistryError``; the whole exchange within ``timeout_seconds``.

        The request runs in a daemon thread (its sockets time out on their own as well);
        the caller waits for it at most until the deadline.
        """
        import urllib.error
        import urllib.request

        outcome: dict = {}

        def exchange() -> None:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    outcome["raw"] = response.read()
            except urllib.error.HTTPError as exc:  # non-2xx (urllib follows redirects itself)
                if not_found_ok and exc.code == 404:
                    outcome["error"] = _NotFound()
                else:
                    outcome["error"] = RegistryError(self._http_error(exc))
            except urllib.error.URLError as exc:
                outcome["error"] = RegistryError(self._network_error(exc.reason))
            except OSError as exc:  # a timeout or reset while reading the answer
                outcome["error"] = RegistryError(self._network_error(exc))
            except Exception as exc:  # noqa: BLE001 - anything else is still "not reachable"
                outcome["error"] = RegistryError(self._network_error(exc))

        worker = threading.Thread(target=exchange, name="registry-request", daemon=True)
        worker.start()
        worker.join(self.timeout_seconds)
        if worker.is_alive() or not outcome:
            raise RegistryError(self._timeout_message())
        if "error" in outcome:
            raise outcome["error"]
        return outcome["raw"]

    def _timeout_message(self) -> str:
        return MSG_TIMEOUT.format(seconds=_seconds_de(self.timeout_seconds), url=self.url)

    def _network_error(self, reason) -> str:
        if _is_timeout(reason):
            return self._timeout_message()
        if isinstance(reason, ConnectionRefusedError):
            return MSG_REFUSED_CONN.format(url=self.url)
        text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return MSG_NETWORK.format(reason=text, url=self.url)

    def _http_error(self, exc: urllib.error.HTTPError) -> str:
        try:
            raw = exc.read()
        except OSError as read_exc:
            if _is_timeout(read_exc):
                return self._timeout_message()
            raw = b""
        detail = ""
        try:
            answer = json.loads(raw)
            if isinstance(answer, dict) and answer.get("error"):
                detail = f": {answer['error']}"
        except ValueError:
            if raw.strip():
                detail = f": {_quote(raw)}"
        return MSG_HTTP.format(status=exc.code, detail=detail, url=self.url)

    def _check_answer(self, raw: bytes) -> None:
        try:
            answer = json.loads(raw)
        except ValueError:
            raise RegistryError(MSG_BAD_ANSWER.format(quote=_quote(raw))) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise RegistryError(MSG_BAD_SHAPE.format(quote=_quote(raw)))
        if not answer["ok"]:
            error = answer.get("error")
            raise RegistryError(MSG_REJECTED.format(error=error) if error else MSG_REJECTED_NO_REASON)


def parse_unreachable_until(value: str) -> dt.datetime | None:
    """The moment from ``registry_simulate_unreachable_until`` (naive = Berlin time), or None."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(MSG_BAD_UNTIL.format(value=value)) from None
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo(TIMEZONE))
    return moment


def registry_from_settings(policy: Policy, *, now: dt.datetime | None = None) -> Registry:
    """The registry the settings ask for: HTTP when a URL is set, else the simulated one.

    ``now`` decides whether the simulated registry is still unreachable
    (``registry_simulate_unreachable_until``); it defaults to the current time.
    """
    url = os.environ.get(ENV_URL, "").strip() or policy.registry_url.strip()
    if url:
        return HttpRegistry(url, policy.registry_timeout_seconds)
    until = parse_unreachable_until(policy.registry_simulate_unreachable_until)
    if until is not None and now is None:
        now = dt.datetime.now(dt.timezone.utc)
    return SimulatedRegistry(
        fail_items=set(policy.registry_simulate_fail_items.split()),
        unreachable=until is not None and now < until,
    )


__all__ = [
    "ENV_URL",
    "EXECUTED",
    "FAILED",
    "UNKNOWN",
    "RegistryStatus",
    "order_ref",
    "HttpRegistry",
    "Registry",
    "RegistryError",
    "SimulatedRegistry",
    "parse_unreachable_until",
    "registry_from_settings",
]
