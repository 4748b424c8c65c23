"""Outgoing mail: the outbox table and its delivery over SMTP (``deskapp mail send``).

Every message to a customer is queued in ``outgoing_mail`` first
(``services.journal.log_message``). ``deliver_outbox`` sends the queued mails; with no
SMTP server configured the outbox is the end point and the desk shows it.

**Configuration** (``load_smtp_config``): the ``[smtp]`` table of the settings file
(``deskapp.settings.settings_file_path``: ``DESK_SETTINGS_FILE`` or the user config
dir's ``settings.toml``), each key overridden by the environment::

    [smtp]                  # environment
    host = "mail.example"   # DESK_SMTP_HOST   (no host: no delivery)
    port = 587              # DESK_SMTP_PORT   (default 587 with STARTTLS, else 25)
    starttls = true         # DESK_SMTP_STARTTLS
    user = "desk"           # DESK_SMTP_USER   (login only when set)
    password = "…"          # DESK_SMTP_PASSWORD
    from = "support@…"      # DESK_MAIL_FROM
    timeout = 10            # seconds per SMTP operation

The password lives only in the process: it is never written to the database or the
audit log, never part of a ``repr``, and scrubbed from any error text that is stored.

**Nothing is sent twice.** A mail is claimed before SMTP is spoken: one short
transaction turns it from ``queued`` into ``sending`` with a conditional ``UPDATE …
WHERE status = 'queued'`` that also counts the attempt (``attempts + 1``) and stamps
``sent_at`` with the moment of the claim. Only the run whose update hit the row sends
it; two parallel runs never both get it. The outcome is written with the claim as the
token (``WHERE attempts = :claimed``): delivered → ``sent`` with ``sent_at``; refused or
unreachable → back to ``queued`` with ``last_error``, retried by a later run. A mail left
``sending`` by a run that died goes back to the queue after
``Policy.mail_sending_stale_minutes`` (its ``sent_at`` is the claim's moment).
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
import tomllib
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Mapping

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.engine import read_session, write_session
from models.enums import MailStatus
from models.tables import Customer, OutgoingMail

from ..settings import Policy, settings_file_path
from . import agents, audit
from .errors import InvalidInput, NotFound
from .readmodels import AgentRef

ENV_HOST = "DESK_SMTP_HOST"
ENV_PORT = "DESK_SMTP_PORT"
ENV_STARTTLS = "DESK_SMTP_STARTTLS"
ENV_USER = "DESK_SMTP_USER"
ENV_PASSWORD = "DESK_SMTP_PASSWORD"
ENV_FROM = "DESK_MAIL_FROM"
DEFAULT_TIMEOUT = 10.0
NOT_SUPPORTED_AUTH = "SMTP AUTH extension"  # smtplib's words when the server offers no AUTH
MAX_ERROR = 1000
PAGE = 100

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
MSG_NO_MAIL = "Mail {mail_id} gibt es nicht im Postausgang."
ERR_REFUSED_CONN = "SMTP-Server {server} nicht erreichbar: Verbindung abgelehnt."
ERR_TIMEOUT = "SMTP-Server {server} nicht erreichbar: Zeitüberschreitung nach {seconds:g} s."
ERR_NETWORK = "SMTP-Server {server} nicht erreichbar: {reason}"
ERR_DISCONNECTED = "SMTP-Server {server} hat die Verbindung getrennt: {reason}"
ERR_NO_STARTTLS = "SMTP-Server {server} bietet kein STARTTLS an."
ERR_NO_AUTH = "SMTP-Server {server} bietet keine Anmeldung (AUTH) an, es ist aber ein Benutzer eingestellt."
ERR_TLS = "TLS-Fehler mit {server}: {reason}"
ERR_AUTH = "SMTP-Anmeldung als {user} abgelehnt: {answer}"
ERR_RECIPIENT = "Empfänger {to} abgelehnt: {answer}"
ERR_SENDER = "Absender {sender} abgelehnt: {answer}"
ERR_DATA = "Der SMTP-Server hat die Mail abgelehnt: {answer}"
ERR_SMTP = "SMTP-Fehler: {reason}"
ERR_STALE = "Versand abgebrochen (seit {minutes} min ohne Ergebnis); wieder in der Warteschlange."


# --------------------------------------------------------------------------- configuration


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


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    remaining: int  # still queued after the run (the failed ones among them)
    requeued: int = 0  # stale "sending" mails put back into the queue
    error: str = ""  # the last error, German ("" if none)
    stopped: bool = False  # the server could not be reached: the run stopped early


@dataclass(frozen=True)
class _Claim:
    id: int
    to_addr: str
    subject: str
    body: str
    attempts: int  # the claim's token


class _ServerUnusable(Exception):
    """Connecting, STARTTLS or login failed: no mail can go out on this run."""


def _scrub(text: str, config: SmtpConfig) -> str:
    if config.password:
        text = text.replace(config.password, "***")
    return text[:MAX_ERROR]


def _answer(code, message) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}".strip()


def _describe(exc: BaseException, config: SmtpConfig, to_addr: str) -> str:
    server = config.server
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (0, b""))
        text = ERR_RECIPIENT.format(to=to_addr, answer=_answer(code, message))
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        text = ERR_SENDER.format(sender=config.mail_from, answer=_answer(exc.smtp_code, exc.smtp_error))
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        text = ERR_AUTH.format(user=config.user, answer=_answer(exc.smtp_code, exc.smtp_error))
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        no_auth = NOT_SUPPORTED_AUTH in str(exc)
        text = (ERR_NO_AUTH if no_auth else ERR_NO_STARTTLS).format(server=server)
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        text = ERR_DISCONNECTED.format(server=server, reason=exc or "ohne Antwort")
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = ERR_DATA.format(answer=_answer(exc.smtp_code, exc.smtp_error))
    elif isinstance(exc, smtplib.SMTPException):
        text = ERR_SMTP.format(reason=exc)
    elif isinstance(exc, ConnectionRefusedError):
        text = ERR_REFUSED_CONN.format(server=server)
    elif isinstance(exc, (socket.timeout, TimeoutError)):
        text = ERR_TIMEOUT.format(server=server, seconds=config.timeout)
    elif isinstance(exc, ssl.SSLError):
        text = ERR_TLS.format(server=server, reason=exc.reason or exc)
    else:
        text = ERR_NETWORK.format(server=server, reason=getattr(exc, "strerror", None) or exc)
    return _scrub(text, config)


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        smtp.ehlo()
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.user:
            smtp.login(config.user, config.password)
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def build_message(claim: _Claim, config: SmtpConfig, now: dt.datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.mail_from
    msg["To"] = claim.to_addr
    msg["Subject"] = claim.subject
    msg["Date"] = format_datetime(now)
    domain = config.mail_from.rpartition("@")[2] or "deskapp.invalid"
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{claim.id}", domain=domain)
    msg.set_content(claim.body)
    return msg


def _claim(engine: Engine, mail_id: int, now: dt.datetime) -> _Claim | None:
    """queued → sending, in its own short transaction; None if another run was first."""
    with write_session(engine) as session:
        hit = session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, OutgoingMail.status == MailStatus.QUEUED)
            .values(status=MailStatus.SENDING, attempts=OutgoingMail.attempts + 1, sent_at=now)
        )
        if hit.rowcount != 1:
            return None
        row = session.execute(
            select(OutgoingMail.to_addr, OutgoingMail.subject, OutgoingMail.body, OutgoingMail.attempts)
            .where(OutgoingMail.id == mail_id)
        ).one()
    return _Claim(mail_id, row.to_addr, row.subject, row.body, row.attempts)


def _finish_sent(engine: Engine, actor: AgentRef, claim: _Claim, now: dt.datetime) -> None:
    with write_session(engine) as session:
        session.execute(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == claim.id,
                OutgoingMail.attempts == claim.attempts,
                # also when a stale check put it back meanwhile: it went out, do not send it again
                OutgoingMail.status.in_((MailStatus.SENDING, MailStatus.QUEUED)),
            )
            .values(status=MailStatus.SENT, sent_at=now, last_error="")
        )
        audit.record(
            session, actor, "mail.send", "outgoing_mail", claim.id,
            old={"status": MailStatus.QUEUED},
            new={"status": MailStatus.SENT, "to": claim.to_addr, "attempts": claim.attempts},
            now=now,
        )


def _finish_failed(engine: Engine, actor: AgentRef, claim: _Claim, error: str, now: dt.datetime) -> None:
    with write_session(engine) as session:
        session.execute(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == claim.id,
                OutgoingMail.attempts == claim.attempts,
                OutgoingMail.status == MailStatus.SENDING,
            )
            .values(status=MailStatus.QUEUED, sent_at=None, last_error=error)
        )
        audit.record(
            session, actor, "mail.fail", "outgoing_mail", claim.id,
            new={"status": MailStatus.QUEUED, "to": claim.to_addr, "attempts": claim.attempts, "error": error},
            now=now,
        )


def requeue_stale(engine: Engine, actor: AgentRef, *, now: dt.datetime, policy: Policy) -> int:
    """Mails left ``sending`` (a run died mid-way) longer than the policy allows → queued."""
    minutes = policy.mail_sending_stale_minutes
    cutoff = now - dt.timedelta(minutes=minutes)
    with write_session(engine) as session:
        stale = session.execute(
            select(OutgoingMail.id, OutgoingMail.attempts).where(
                OutgoingMail.status == MailStatus.SENDING, OutgoingMail.sent_at < cutoff
            )
        ).all()
        count = 0
        for mail_id, attempts in stale:
            hit = session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id, OutgoingMail.attempts == attempts,
                       OutgoingMail.status == MailStatus.SENDING)
                .values(status=MailStatus.QUEUED, sent_at=None, last_error=ERR_STALE.format(minutes=minutes))
            )
            if hit.rowcount == 1:
                count += 1
                audit.record(
                    session, actor, "mail.requeue", "outgoing_mail", mail_id,
                    old={"status": MailStatus.SENDING}, new={"status": MailStatus.QUEUED}, now=now,
                )
    return count


def _queued_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.execute(
            select(func.count()).select_from(OutgoingMail).where(OutgoingMail.status == MailStatus.QUEUED)
        ).scalar_one())


def deliver_outbox(
    engine: Engine,
    config: SmtpConfig,
    *,
    now: dt.datetime,
    batch: int = 50,
    policy: Policy | None = None,
    limit: int | None = None,
) -> DeliveryReport:
    """Send the queued mails (oldest first, ``batch`` ids read at a time), at most ``limit``.

    A mail the server refuses goes back to the queue with its error; when the server
    cannot be reached at all, the run stops after recording that on the mail it held.
    """
    policy = policy or Policy()
    with read_session(engine) as session:
        actor = agents.system_agent(session)
    requeued = requeue_stale(engine, actor, now=now, policy=policy)
    sent = failed = 0
    error = ""
    stopped = False
    smtp: smtplib.SMTP | None = None
    after_id = 0
    try:
        while not stopped and (limit is None or sent + failed < limit):
            with read_session(engine) as session:
                ids = session.execute(
                    select(OutgoingMail.id)
                    .where(OutgoingMail.status == MailStatus.QUEUED, OutgoingMail.id > after_id)
                    .order_by(OutgoingMail.id)
                    .limit(batch)
                ).scalars().all()
            if not ids:
                break
            for mail_id in ids:
                if limit is not None and sent + failed >= limit:
                    break
                after_id = mail_id
                claim = _claim(engine, mail_id, now)
                if claim is None:
                    continue  # a parallel run has it
                try:
                    if smtp is None:
                        try:
                            smtp = _connect(config)
                        except (OSError, smtplib.SMTPException) as exc:
                            raise _ServerUnusable(exc) from exc
                    smtp.send_message(build_message(claim, config, now))
                except _ServerUnusable as wrapped:
                    error = _describe(wrapped.__cause__, config, claim.to_addr)
                    _finish_failed(engine, actor, claim, error, now)
                    failed += 1
                    stopped = True
                    break
                except (OSError, smtplib.SMTPException) as exc:
                    error = _describe(exc, config, claim.to_addr)
                    _finish_failed(engine, actor, claim, error, now)
                    failed += 1
                    refused_only = isinstance(
                        exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
                    )
                    if not refused_only or smtp.sock is None:
                        _close(smtp)  # the connection is gone or in an unknown state: a fresh one next
                        smtp = None
                    continue
                _finish_sent(engine, actor, claim, now)
                sent += 1
            if len(ids) < batch:
                break
    finally:
        _close(smtp)
    return DeliveryReport(
        sent=sent, failed=failed, remaining=_queued_count(engine), requeued=requeued, error=error,
        stopped=stopped,
    )


# --------------------------------------------------------------------------- the outbox view


@dataclass(frozen=True)
class OutboxRow:
    id: int
    status: str  # MailStatus
    created_at: dt.datetime
    to_addr: str
    subject: str
    attempts: int
    last_error: str
    sent_at: dt.datetime | None
    customer_id: uuid.UUID | None
    customer_name: str


@dataclass(frozen=True)
class OutboxPage:
    rows: tuple[OutboxRow, ...]  # newest first
    has_more: bool  # older mails follow (ask with before_id=rows[-1].id)


@dataclass(frozen=True)
class OutboxMail:
    row: OutboxRow
    body: str


_ROW_COLUMNS = (
    OutgoingMail.id, OutgoingMail.status, OutgoingMail.created_at, OutgoingMail.to_addr, OutgoingMail.subject,
    OutgoingMail.attempts, OutgoingMail.last_error, OutgoingMail.sent_at, OutgoingMail.customer_id,
    Customer.name,
)


def _row(r) -> OutboxRow:
    return OutboxRow(
        id=r[0], status=r[1], created_at=r[2], to_addr=r[3], subject=r[4], attempts=r[5],
        last_error=r[6] or "", sent_at=r[7], customer_id=r[8], customer_name=r[9] or "",
    )


def outbox_page(
    session: Session, *, status: str | None = None, limit: int = PAGE, before_id: int | None = None
) -> OutboxPage:
    """One page of the outbox, newest first (keyset by id)."""
    stmt = select(*_ROW_COLUMNS).outerjoin(Customer, Customer.id == OutgoingMail.customer_id)
    if status is not None:
        stmt = stmt.where(OutgoingMail.status == status)
    if before_id is not None:
        stmt = stmt.where(OutgoingMail.id < before_id)
    rows = session.execute(stmt.order_by(OutgoingMail.id.desc()).limit(limit + 1)).all()
    return OutboxPage(rows=tuple(_row(r) for r in rows[:limit]), has_more=len(rows) > limit)


def outbox_counts(session: Session) -> dict[str, int]:
    """Mails per status (every MailStatus present, 0 if none)."""
    counts = {s.value: 0 for s in MailStatus}
    for status, n in session.execute(
        select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)
    ).all():
        counts[status] = int(n)
    return counts


def outbox_mail(session: Session, mail_id: int) -> OutboxMail:
    r = session.execute(
        select(*_ROW_COLUMNS, OutgoingMail.body)
        .outerjoin(Customer, Customer.id == OutgoingMail.customer_id)
        .where(OutgoingMail.id == mail_id)
    ).first()
    if r is None:
        raise NotFound(MSG_NO_MAIL.format(mail_id=mail_id))
    return OutboxMail(row=_row(r), body=r[-1])


__all__ = [
    "DeliveryReport",
    "OutboxMail",
    "OutboxPage",
    "OutboxRow",
    "SmtpConfig",
    "build_message",
    "deliver_outbox",
    "load_smtp_config",
    "outbox_counts",
    "outbox_mail",
    "outbox_page",
    "requeue_stale",
]
