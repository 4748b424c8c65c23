"""The registry (Vergabestelle) that executes real-time orders such as domain registrations.

The desk talks to it through ``Registry``. Two implementations:

* ``SimulatedRegistry`` — built in, the default (demo, tests, a desk without a registry
  contract). Settings can make it refuse certain items or be unreachable for a while.
* ``HttpRegistry`` — HTTP/JSON to a configured URL with a timeout: it POSTs
  ``{"item": ..., "customer": ...}`` and expects a 2xx answer ``{"ok": true}``.

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
import urllib.error
import urllib.parse
import urllib.request
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


class RegistryError(Exception):
    """The registry refused the order or could not be reached. The message is German."""


@runtime_checkable
class Registry(Protocol):
    def register(self, item: str, customer_number: str) -> None:
        """Execute the order; raise ``RegistryError`` when it cannot be done."""


@dataclass
class SimulatedRegistry:
    """Accepts everything except ``fail_items``; ``unreachable`` fails every call."""

    fail_items: set[str] = field(default_factory=set)
    unreachable: bool = False
    registered: list[tuple[str, str]] = field(default_factory=list)

    def register(self, item: str, customer_number: str) -> None:
        if self.unreachable:
            raise RegistryError(MSG_UNREACHABLE)
        if item in self.fail_items:
            raise RegistryError(MSG_SIM_REFUSED.format(item=item))
        self.registered.append((item, customer_number))


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
    """The registry over HTTP/JSON: POST ``{"item", "customer"}``, expect ``{"ok": true}``.

    ``timeout_seconds`` bounds connecting and every wait for data from the server.
    """

    url: str
    timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidInput(MSG_BAD_URL.format(url=self.url))
        if not self.timeout_seconds > 0:
            raise InvalidInput(MSG_BAD_TIMEOUT)

    def register(self, item: str, customer_number: str) -> None:
        body = json.dumps({"item": item, "customer": customer_number}).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:  # non-2xx (urllib follows redirects itself)
            raise RegistryError(self._http_error(exc)) from None
        except urllib.error.URLError as exc:
            raise RegistryError(self._network_error(exc.reason)) from None
        except OSError as exc:  # a timeout or reset while reading the answer
            raise RegistryError(self._network_error(exc)) from None
        self._check_answer(raw)

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
    "HttpRegistry",
    "Registry",
    "RegistryError",
    "SimulatedRegistry",
    "parse_unreachable_until",
    "registry_from_settings",
]
