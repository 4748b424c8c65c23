"""Where outgoing mail goes and from whom: the ``[smtp]`` settings and the desk's mail domain.

``load_smtp_config`` reads the ``[smtp]`` table of the settings file
(``deskapp.settings.settings_file_path``) with the environment on top (the keys are listed
in ``deskapp.services.mail``). ``sender_domain`` is the domain of the From address, which
every Message-ID the desk makes carries; it is read when a mail is queued, so it is tolerant:
a missing or broken setting gives ``deskapp.invalid`` instead of stopping the work that
queues the mail. Low in the services order so that ``journal`` can fix a mail's Message-ID.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..rules.mailheaders import domain_of
from ..settings import settings_file_path
from .errors import InvalidInput

ENV_HOST = "DESK_SMTP_HOST"
ENV_PORT = "DESK_SMTP_PORT"
ENV_STARTTLS = "DESK_SMTP_STARTTLS"
ENV_USER = "DESK_SMTP_USER"
ENV_PASSWORD = "DESK_SMTP_PASSWORD"
ENV_FROM = "DESK_MAIL_FROM"
DEFAULT_TIMEOUT = 10.0

# User-facing text (German).
MSG_BAD_FILE = "Die Einstellungsdatei {path} ist kein gültiges TOML: {error}"
MSG_UNREADABLE = "Die Einstellungsdatei {path} kann nicht gelesen werden: {error}"
MSG_BAD_TABLE = "In der Einstellungsdatei {path} muss [smtp] eine Tabelle sein."
MSG_BAD_PORT = "Der SMTP-Port '{value}' ({source}) ist keine Portnummer (1–65535)."
MSG_BAD_BOOL = "'{value}' ({source}) ist kein Ja/Nein-Wert (true/false, ja/nein, 1/0)."
MSG_BAD_TIMEOUT = "Die SMTP-Zeitüberschreitung '{value}' ({source}) muss eine Zahl größer als 0 sein."
MSG_BAD_TEXT = "Der Wert von {source} muss Text sein."
MSG_NO_FROM = (
    "Für den Versand fehlt die Absenderadresse: DESK_MAIL_FROM setzen oder 'from' in [smtp] "
    "der Einstellungsdatei {path}."
)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = field(default="", repr=False)
    mail_from: str = ""
    timeout: float = DEFAULT_TIMEOUT

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


_TRUE = ("1", "true", "ja", "yes", "on")
_FALSE = ("0", "false", "nein", "no", "off", "")


def _as_bool(value, source: str) -> bool:
    if isinstance(value, bool):
        return value
    low = str(value).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise InvalidInput(MSG_BAD_BOOL.format(value=value, source=source))


def _as_port(value, source: str) -> int:
    try:
        port = value if isinstance(value, int) and not isinstance(value, bool) else int(str(value).strip())
    except ValueError:
        raise InvalidInput(MSG_BAD_PORT.format(value=value, source=source)) from None
    if not 1 <= port <= 65535:
        raise InvalidInput(MSG_BAD_PORT.format(value=value, source=source))
    return port


def _as_timeout(value, source: str) -> float:
    try:
        seconds = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidInput(MSG_BAD_TIMEOUT.format(value=value, source=source))
    return seconds


def _as_text(value, source: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(MSG_BAD_TEXT.format(source=source))
    return value.strip()


def _read_file(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(MSG_BAD_FILE.format(path=path, error=exc)) from None
    except OSError as exc:
        raise InvalidInput(MSG_UNREADABLE.format(path=path, error=exc.strerror or exc)) from None
    table = data.get("smtp", {})
    if not isinstance(table, dict):
        raise InvalidInput(MSG_BAD_TABLE.format(path=path))
    return table


def load_smtp_config(*, env: Mapping[str, str] | None = None, path: Path | None = None) -> SmtpConfig | None:
    """The SMTP settings (file, then environment on top), or None when no host is set.

    Bad values are refused with a German ``InvalidInput`` naming where they came from.
    """
    env = os.environ if env is None else env
    path = path or settings_file_path()
    table = _read_file(path)
    where = f"[smtp] in {path}"

    def pick(key: str, env_name: str):
        if env.get(env_name, "").strip():
            return env[env_name], env_name
        if key in table:
            return table[key], f"{key} {where}"
        return None, ""

    host, source = pick("host", ENV_HOST)
    host = _as_text(host, source) if host is not None else ""
    if not host:
        return None
    raw, source = pick("starttls", ENV_STARTTLS)
    starttls = _as_bool(raw, source) if raw is not None else False
    raw, source = pick("port", ENV_PORT)
    port = _as_port(raw, source) if raw is not None else (587 if starttls else 25)
    raw, source = pick("user", ENV_USER)
    user = _as_text(raw, source) if raw is not None else ""
    raw, source = pick("password", ENV_PASSWORD)
    if raw is not None and not isinstance(raw, str):
        raise InvalidInput(MSG_BAD_TEXT.format(source=source))
    password = raw or ""  # as given: spaces may belong to it
    raw, source = pick("from", ENV_FROM)
    if raw is None and "mail_from" in table:
        raw, source = table["mail_from"], f"mail_from {where}"
    mail_from = _as_text(raw, source) if raw is not None else ""
    if not mail_from:
        raise InvalidInput(MSG_NO_FROM.format(path=path))
    raw = table.get("timeout")
    timeout = _as_timeout(raw, f"timeout {where}") if raw is not None else DEFAULT_TIMEOUT
    return SmtpConfig(
        host=host, port=port, starttls=starttls, user=user, password=password, mail_from=mail_from,
        timeout=timeout,
    )


def sender_address(*, env: Mapping[str, str] | None = None, path: Path | None = None) -> str:
    """The desk's From address (environment, then the settings file); "" when none is set
    or the file cannot be read."""
    env = os.environ if env is None else env
    raw = env.get(ENV_FROM, "").strip()
    if not raw:
        try:
            table = _read_file(path or settings_file_path())
        except InvalidInput:
            table = {}
        raw = table.get("from", table.get("mail_from", ""))
    return raw.strip() if isinstance(raw, str) else ""


def sender_domain(*, env: Mapping[str, str] | None = None, path: Path | None = None) -> str:
    """The domain of the desk's From address, for Message-IDs; ``deskapp.invalid`` when
    none is set or the file cannot be read."""
    return domain_of(sender_address(env=env, path=path))


__all__ = ["DEFAULT_TIMEOUT", "SmtpConfig", "load_smtp_config", "sender_address", "sender_domain"]
