"""Outgoing mail: the outbox table and its delivery over SMTP (``deskapp mail send``).

Every message to a customer is queued in ``outgoing_mail`` first
(``services.journal.log_message``), with its Message-ID fixed at that moment. ``deliver_outbox``
sends the queued mails; with no SMTP server configured the outbox is the end point and the
desk shows it.

**Configuration** (``load_smtp_config``, in ``services.mail_config``): the ``[smtp]`` table of
the settings file (``deskapp.settings.settings_file_path``: ``DESK_SETTINGS_FILE`` or the user
config dir's ``settings.toml``), each key overridden by the environment::

    [smtp]                  # environment
    host = "mail.example"   # DESK_SMTP_HOST   (no host: no delivery)
    port = 587              # DESK_SMTP_PORT   (default 587 with STARTTLS, else 25)
    starttls = true         # DESK_SMTP_STARTTLS
    user = "desk"           # DESK_SMTP_USER   (login only when set)
    password = "…"          # DESK_SMTP_PASSWORD
    from = "support@…"      # DESK_MAIL_FROM   (its domain is in every Message-ID)
    timeout = 10            # seconds per SMTP operation (the final answer: see below)

The password lives only in the process: it is never written to the database or the
audit log, never part of a ``repr``, and scrubbed from any error text that is stored.

**What is guaranteed: at least once, with one Message-ID** (docs/rules.md#mail-delivery).
SMTP cannot make "exactly once" certain: when the answer to the end of DATA does not
arrive, the server may or may not have taken the mail, and nothing the client does can
find out. So the desk delivers at least once, and every attempt sends the same message —
the Message-ID fixed when the mail was queued and its queueing time as Date — so a copy
collapses into one in mail programs that de-duplicate by Message-ID. It keeps copies rare:

* A mail is claimed before SMTP is spoken: one short transaction turns it ``queued`` →
  ``sending`` with a conditional ``UPDATE … WHERE status = 'queued'`` that also counts the
  attempt (``attempts + 1``) and stamps ``sent_at`` with the claim's moment. Only the run
  whose update hit the row sends it. Each outcome is written with the claim as the token
  (``WHERE attempts = :claimed``), in its own transaction with its audit entry.
* The conversation is driven step by step, so the desk knows where it broke. Anything that
  fails before the end of DATA (connect, TLS, login, MAIL, RCPT, the ``354``, writing the
  text) cannot have delivered: a temporary cause (4xx, network) → ``queued`` again; a
  permanent refusal of this mail (5xx to RCPT, DATA or the text) → ``failed``.
* After the final dot the desk waits ``Policy.mail_data_timeout_seconds`` (600 s, as
  RFC 5321 asks) for the answer — far longer than the normal per-operation ``timeout``,
  so a slow server's late ``250`` is heard and the mail is ``sent``, not sent again.
* No answer after the end of DATA, or a mail left ``sending`` longer than
  ``Policy.mail_sending_stale_minutes`` (a run that died), → ``uncertain``. An uncertain
  mail is sent again — same Message-ID, same Date — once that window has passed since its
  attempt, at most ``Policy.mail_uncertain_resends`` times; after that it is ``failed``
  (given up, an agent decides). ``uncertain_count`` stays on the mail, so the outbox shows
  a mail delivered after an unknown attempt as possibly doubled.
* The server's last answer is kept (``smtp_reply``), the German reading in ``last_error``.
* ``mark_bounced`` turns a mail the recipient's server bounced into ``failed``.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.engine import read_session, write_session
from models.enums import MailStatus
from models.tables import Customer, OutgoingMail, Ticket

from ..formatting import utcnow
from ..rules.mailheaders import has_line_break
from ..settings import Policy
from . import agents, audit
from .errors import NotFound
from .mail_config import DEFAULT_TIMEOUT, SmtpConfig, load_smtp_config, sender_domain
from .readmodels import AgentRef

NOT_SUPPORTED_AUTH = "SMTP AUTH extension"  # smtplib's words when the server offers no AUTH
MAX_ERROR = 1000
PAGE = 100
# The statuses a run picks up (an uncertain mail only once its wait is over).
WAITING = (MailStatus.QUEUED, MailStatus.UNCERTAIN)

# User-facing text (German).
MSG_NO_MAIL = "Mail {mail_id} gibt es nicht im Postausgang."
MSG_NO_MESSAGE_ID = "Eine Mail mit der Message-ID {message_id} gibt es nicht im Postausgang."
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
ERR_LATER = "Der SMTP-Server nimmt die Mail gerade nicht an: {answer}"
ERR_SMTP = "SMTP-Fehler: {reason}"
ERR_BEFORE_END = "Verbindung vor dem Ende der Übertragung abgebrochen ({reason}); nicht zugestellt."
ERR_NO_ANSWER = (
    "Keine Antwort des SMTP-Servers nach der Übertragung ({reason}): ob die Mail angekommen ist, "
    "ist unklar."
)
ERR_STALE = "Versand abgebrochen (seit {minutes} min ohne Ergebnis): ob die Mail angekommen ist, ist unklar."
ERR_AGAIN = " Sie wird {minutes} min nach dem Versuch mit derselben Message-ID erneut gesendet."
ERR_GIVEN_UP = (
    "Aufgegeben nach {count} Versuchen ohne Ergebnis – der Empfänger hat die Mail vielleicht "
    "erhalten. Zuletzt: {error}"
)
ERR_HEADER = "Die Mail hat einen Zeilenumbruch in einer Kopfzeile ({header}) und wird nicht gesendet."
ERR_BOUNCED = "Unzustellbar (Rückläufer): {reason}"
NO_ANSWER_REASONS = {"timeout": "Zeitüberschreitung nach {seconds:g} s", "closed": "Verbindung getrennt",
                     "garbled": "unverständliche Antwort"}


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int  # attempts this run that did not end in "sent" (back in the queue, failed or uncertain)
    remaining: int  # waiting after the run: queued, and uncertain ones due for another attempt later
    requeued: int = 0  # mails a dead run left "sending": now uncertain (sent again when due)
    error: str = ""  # the last error, German ("" if none)
    stopped: bool = False  # the server could not be reached: the run stopped early
    uncertain: int = 0  # attempts this run that got no answer after the end of DATA
    refused: int = 0  # attempts this run that ended "failed" (refused for good, or given up)


@dataclass(frozen=True)
class _Claim:
    id: int
    message_id: str
    to_addr: str
    subject: str
    body: str
    created_at: dt.datetime
    in_reply_to: str | None
    references: str | None
    attempts: int  # the claim's token
    uncertain_count: int
    claimed_at: dt.datetime


@dataclass(frozen=True)
class _Outcome:
    status: str  # the MailStatus the attempt leads to (before the give-up rule)
    reply: str = ""  # the server's answer, as given
    error: str = ""  # German
    keep_connection: bool = True


class _ServerUnusable(Exception):
    """Connecting, STARTTLS, login or the sender failed: no mail can go out on this run."""


class _Refused(Exception):
    """The server answered a step before the end of DATA with something other than success."""

    def __init__(self, step: str, code: int, message) -> None:
        super().__init__(step, code)
        self.step, self.code, self.answer = step, code, _answer(code, message)


class _NoAnswer(Exception):
    """The text and its final dot went out, but no answer came back: the outcome is unknown."""


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
    if isinstance(exc, smtplib.SMTPAuthenticationError):
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


def _describe_refusal(refused: _Refused, config: SmtpConfig, to_addr: str) -> str:
    if refused.step == "sender":
        text = ERR_SENDER.format(sender=config.mail_from, answer=refused.answer)
    elif refused.step == "recipient":
        text = ERR_RECIPIENT.format(to=to_addr, answer=refused.answer)
    elif 400 <= refused.code < 500:
        text = ERR_LATER.format(answer=refused.answer)
    else:
        text = ERR_DATA.format(answer=refused.answer)
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


def build_message(claim: _Claim, config: SmtpConfig) -> EmailMessage:
    """The mail as every attempt sends it: same Message-ID, Date = when it was queued.

    Raises ``ValueError`` naming the header when a stored value holds a line break.
    """
    headers = (
        ("From", config.mail_from), ("To", claim.to_addr), ("Subject", claim.subject),
        ("Message-ID", claim.message_id), ("In-Reply-To", claim.in_reply_to or ""),
        ("References", claim.references or ""),
    )
    for name, value in headers:
        if has_line_break(value):
            raise ValueError(name)
    msg = EmailMessage()
    msg["From"] = config.mail_from
    msg["To"] = claim.to_addr
    msg["Subject"] = claim.subject
    msg["Date"] = format_datetime(claim.created_at)
    msg["Message-ID"] = claim.message_id
    if claim.in_reply_to:
        msg["In-Reply-To"] = claim.in_reply_to
    if claim.references:
        msg["References"] = claim.references
    msg.set_content(claim.body)
    return msg


def _transmit(
    smtp: smtplib.SMTP, msg: EmailMessage, to_addr: str, config: SmtpConfig, data_timeout: float
) -> str:
    """One mail over an open connection, step by step; the server's final answer (2xx).

    ``_Refused``: a step before the end of DATA was not accepted (nothing delivered).
    ``OSError``/``SMTPException``: the connection broke before the end of DATA (nothing delivered).
    ``_NoAnswer``: the end of DATA went out and no answer came (outcome unknown).
    """
    international = not (config.mail_from + to_addr).isascii()
    options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
    if international and not smtp.has_extn("smtputf8"):
        raise smtplib.SMTPNotSupportedError("the server does not offer SMTPUTF8")
    code, message = smtp.mail(config.mail_from, options)
    if code != 250:
        raise _Refused("sender", code, message)
    code, message = smtp.rcpt(to_addr)
    if code not in (250, 251):
        raise _Refused("recipient", code, message)
    code, message = smtp.docmd("data")
    if code != 354:
        raise _Refused("data", code, message)
    data = msg.as_bytes(policy=msg.policy.clone(utf8=international, linesep="\r\n"))
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    smtp.send(data + b".\r\n")
    # From here on the server may have the whole mail: a missing answer is not a failure.
    try:
        smtp.sock.settimeout(data_timeout)
        code, message = smtp.getreply()
    except smtplib.SMTPServerDisconnected as exc:
        cause = exc.__context__
        timed_out = isinstance(cause, (socket.timeout, TimeoutError))
        reason = NO_ANSWER_REASONS["timeout" if timed_out else "closed"].format(seconds=data_timeout)
        raise _NoAnswer(reason) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _NoAnswer(NO_ANSWER_REASONS["closed"]) from exc
    if smtp.sock is not None:
        smtp.sock.settimeout(config.timeout)
    if not 200 <= code < 600:  # no reply code smtplib could read: as good as no answer
        raise _NoAnswer(NO_ANSWER_REASONS["garbled"])
    if not 200 <= code < 300:
        raise _Refused("text", code, message)
    return _answer(code, message)


def _attempt(smtp: smtplib.SMTP, claim: _Claim, config: SmtpConfig, policy: Policy) -> _Outcome:
    """Send one claimed mail and read what is known afterwards (``_ServerUnusable`` passes through)."""
    try:
        msg = build_message(claim, config)
    except ValueError as exc:
        return _Outcome(MailStatus.FAILED, error=ERR_HEADER.format(header=exc.args[0]))
    try:
        reply = _transmit(smtp, msg, claim.to_addr, config, policy.mail_data_timeout_seconds)
    except _Refused as refused:
        if refused.step == "sender":
            raise _ServerUnusable(refused) from refused
        _reset(smtp)
        permanent = 500 <= refused.code < 600
        return _Outcome(
            MailStatus.FAILED if permanent else MailStatus.QUEUED, reply=refused.answer,
            error=_describe_refusal(refused, config, claim.to_addr), keep_connection=smtp.sock is not None,
        )
    except _NoAnswer as unknown:
        error = ERR_NO_ANSWER.format(reason=unknown)
        return _Outcome(MailStatus.UNCERTAIN, error=_scrub(error, config), keep_connection=False)
    except (OSError, smtplib.SMTPException) as exc:
        error = ERR_BEFORE_END.format(reason=_describe(exc, config, claim.to_addr))
        return _Outcome(MailStatus.QUEUED, error=_scrub(error, config), keep_connection=False)
    return _Outcome(MailStatus.SENT, reply=_scrub(reply, config))


def _reset(smtp: smtplib.SMTP) -> None:
    """RSET after a refused step, so the connection can carry the next mail (closed if it cannot)."""
    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _due(cutoff: dt.datetime):
    """The mails a run may claim: queued, and uncertain ones whose last attempt is older than cutoff."""
    return or_(
        OutgoingMail.status == MailStatus.QUEUED,
        and_(OutgoingMail.status == MailStatus.UNCERTAIN, OutgoingMail.sent_at < cutoff),
    )


def _claim(engine: Engine, actor: AgentRef, mail_id: int, moment: dt.datetime, cutoff: dt.datetime) -> _Claim | None:
    """queued/uncertain → sending, in its own short transaction; None if another run was first."""
    with write_session(engine) as session:
        before = session.execute(
            select(OutgoingMail.status).where(OutgoingMail.id == mail_id, _due(cutoff))
        ).scalar_one_or_none()
        if before is None:
            return None
        hit = session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, _due(cutoff))
            .values(status=MailStatus.SENDING, attempts=OutgoingMail.attempts + 1, sent_at=moment)
        )
        if hit.rowcount != 1:
            return None
        row = session.get(OutgoingMail, mail_id)
        claim = _Claim(
            id=mail_id, message_id=row.message_id, to_addr=row.to_addr, subject=row.subject, body=row.body,
            created_at=row.created_at, in_reply_to=row.in_reply_to, references=row.references,
            attempts=row.attempts, uncertain_count=row.uncertain_count, claimed_at=moment,
        )
        audit.record(
            session, actor, "mail.claim", "outgoing_mail", mail_id,
            old={"status": before}, new={"status": MailStatus.SENDING, "attempts": claim.attempts}, now=moment,
        )
    return claim


def _uncertain_or_given_up(count: int, error: str, policy: Policy) -> tuple[str, str]:
    """After ``count`` attempts without a known outcome: try again, or give up (failed)."""
    if count > policy.mail_uncertain_resends:
        return MailStatus.FAILED, ERR_GIVEN_UP.format(count=count, error=error)[:MAX_ERROR]
    return MailStatus.UNCERTAIN, error + ERR_AGAIN.format(minutes=policy.mail_sending_stale_minutes)


def _finish(
    engine: Engine, actor: AgentRef, claim: _Claim, outcome: _Outcome, moment: dt.datetime, policy: Policy
) -> str:
    """Write what the attempt showed, with the claim as the token; the status written."""
    status, error = outcome.status, outcome.error
    values: dict = {"status": status, "last_error": error, "smtp_reply": outcome.reply}
    allowed = [MailStatus.SENDING]
    if status == MailStatus.SENT:
        values["sent_at"] = moment
        # Also when a stale check marked it uncertain meanwhile: it went out, do not send it again.
        allowed.append(MailStatus.UNCERTAIN)
    elif status == MailStatus.UNCERTAIN:
        count = claim.uncertain_count + 1
        status, error = _uncertain_or_given_up(count, error, policy)
        values.update(status=status, last_error=error, uncertain_count=count, sent_at=claim.claimed_at)
    else:
        values["sent_at"] = None
    action = {
        MailStatus.SENT: "mail.send", MailStatus.QUEUED: "mail.retry", MailStatus.FAILED: "mail.fail",
        MailStatus.UNCERTAIN: "mail.uncertain",
    }[status]
    with write_session(engine) as session:
        hit = session.execute(
            update(OutgoingMail)
            .where(OutgoingMail.id == claim.id, OutgoingMail.attempts == claim.attempts,
                   OutgoingMail.status.in_(allowed))
            .values(**values)
        )
        if hit.rowcount == 1:
            new = {"status": status, "to": claim.to_addr, "attempts": claim.attempts, "message_id": claim.message_id}
            if error:
                new["error"] = error
            if outcome.reply:
                new["smtp_reply"] = outcome.reply
            audit.record(session, actor, action, "outgoing_mail", claim.id,
                         old={"status": MailStatus.SENDING}, new=new, now=moment)
    return status


def requeue_stale(engine: Engine, actor: AgentRef, *, now: dt.datetime, policy: Policy) -> int:
    """Mails left ``sending`` (a run died mid-way) longer than the policy allows → ``uncertain``
    (or ``failed`` when they were already sent again as often as the policy allows).

    Whether such a mail reached the server is unknown; it is sent again with its Message-ID.
    Each mail in its own transaction with its audit entry. Returns how many were found.
    """
    minutes = policy.mail_sending_stale_minutes
    cutoff = now - dt.timedelta(minutes=minutes)
    with read_session(engine) as session:
        stale = session.execute(
            select(OutgoingMail.id, OutgoingMail.attempts, OutgoingMail.uncertain_count).where(
                OutgoingMail.status == MailStatus.SENDING, OutgoingMail.sent_at < cutoff
            )
        ).all()
    count = 0
    for mail_id, attempts, uncertain_count in stale:
        status, error = _uncertain_or_given_up(uncertain_count + 1, ERR_STALE.format(minutes=minutes), policy)
        with write_session(engine) as session:
            hit = session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id, OutgoingMail.attempts == attempts,
                       OutgoingMail.status == MailStatus.SENDING)
                .values(status=status, last_error=error, uncertain_count=uncertain_count + 1)
            )
            if hit.rowcount == 1:
                count += 1
                audit.record(
                    session, actor, "mail.uncertain" if status == MailStatus.UNCERTAIN else "mail.fail",
                    "outgoing_mail", mail_id,
                    old={"status": MailStatus.SENDING}, new={"status": status, "error": error}, now=now,
                )
    return count


def _waiting_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.execute(
            select(func.count()).select_from(OutgoingMail).where(OutgoingMail.status.in_(WAITING))
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
    """Send the due mails (oldest first, ``batch`` ids read at a time), at most ``limit``.

    Due: queued ones, and uncertain ones whose last attempt is older than the stale window
    (sent again with the same Message-ID). What each attempt leads to is in the module
    docstring. When the server cannot be reached at all (or refuses the sender), the run
    stops after recording that on the mail it held. A claim is stamped with ``now`` plus
    the whole minutes the run has taken so far.
    """
    policy = policy or Policy()
    started = time.monotonic()

    def moment() -> dt.datetime:
        return now + dt.timedelta(minutes=int((time.monotonic() - started) // 60))

    with read_session(engine) as session:
        actor = agents.system_agent(session)
    requeued = requeue_stale(engine, actor, now=now, policy=policy)
    cutoff = now - dt.timedelta(minutes=policy.mail_sending_stale_minutes)
    sent = failed = uncertain = refused = 0
    error = ""
    stopped = False
    smtp: smtplib.SMTP | None = None
    after_id = 0
    try:
        while not stopped and (limit is None or sent + failed < limit):
            with read_session(engine) as session:
                ids = session.execute(
                    select(OutgoingMail.id)
                    .where(_due(cutoff), OutgoingMail.id > after_id)
                    .order_by(OutgoingMail.id)
                    .limit(batch)
                ).scalars().all()
            if not ids:
                break
            for mail_id in ids:
                if limit is not None and sent + failed >= limit:
                    break
                after_id = mail_id
                claim = _claim(engine, actor, mail_id, moment(), cutoff)
                if claim is None:
                    continue  # a parallel run has it
                try:
                    if smtp is None:
                        try:
                            smtp = _connect(config)
                        except (OSError, smtplib.SMTPException) as exc:
                            raise _ServerUnusable(exc) from exc
                    outcome = _attempt(smtp, claim, config, policy)
                except _ServerUnusable as wrapped:
                    cause = wrapped.__cause__
                    if isinstance(cause, _Refused):
                        outcome = _Outcome(MailStatus.QUEUED, reply=cause.answer,
                                           error=_describe_refusal(cause, config, claim.to_addr))
                    else:
                        outcome = _Outcome(MailStatus.QUEUED, error=_describe(cause, config, claim.to_addr))
                    stopped = True
                status = _finish(engine, actor, claim, outcome, moment(), policy)
                if status == MailStatus.SENT:
                    sent += 1
                else:
                    failed += 1
                    uncertain += outcome.status == MailStatus.UNCERTAIN
                    refused += status == MailStatus.FAILED
                    error = outcome.error
                if stopped:
                    break
                if not outcome.keep_connection or (smtp is not None and smtp.sock is None):
                    _close(smtp)  # the connection is gone or in an unknown state: a fresh one next
                    smtp = None
            if len(ids) < batch:
                break
    finally:
        _close(smtp)
    return DeliveryReport(
        sent=sent, failed=failed, remaining=_waiting_count(engine), requeued=requeued, error=error,
        stopped=stopped, uncertain=uncertain, refused=refused,
    )


# --------------------------------------------------------------------------- bounces


@dataclass(frozen=True)
class BouncedMail:
    id: int
    message_id: str
    ticket_id: int | None
    to_addr: str
    status_before: str  # MailStatus
    error: str  # German, as stored in last_error


def mark_bounced(
    session: Session, message_id: str, reason: str, *, now: dt.datetime | None = None,
    actor: AgentRef | None = None,
) -> BouncedMail:
    """The outbox mail with this Message-ID bounced: ``failed`` with the reason (audited).

    For the bounce handling of incoming mail (docs/rules.md#mail-automatic); runs in the
    caller's transaction. ``NotFound`` if the desk never queued that Message-ID. A second
    report of the same bounce changes nothing.
    """
    key = (message_id or "").strip()
    if key and not key.startswith("<"):
        key = f"<{key}>"
    mail = session.execute(select(OutgoingMail).where(OutgoingMail.message_id == key)).scalar_one_or_none()
    if mail is None:
        raise NotFound(MSG_NO_MESSAGE_ID.format(message_id=message_id))
    actor = actor or agents.system_agent(session)
    now = now or utcnow()
    error = ERR_BOUNCED.format(reason=" ".join((reason or "").split()) or "ohne Angabe")[:MAX_ERROR]
    before = mail.status
    if before != MailStatus.FAILED or mail.last_error != error:
        mail.status = MailStatus.FAILED
        mail.last_error = error
        session.add(mail)
        session.flush()
        audit.record(
            session, actor, "mail.bounce", "outgoing_mail", mail.id,
            old={"status": before}, new={"status": MailStatus.FAILED, "error": error, "message_id": key}, now=now,
        )
    return BouncedMail(id=mail.id, message_id=key, ticket_id=mail.ticket_id, to_addr=mail.to_addr,
                       status_before=before, error=error)


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
    message_id: str = ""
    ticket_id: int | None = None
    ticket_number: int | None = None
    smtp_reply: str = ""  # the server's last answer, as given
    uncertain_count: int = 0  # attempts without a known outcome: a sent mail may have arrived twice


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
    Customer.name, OutgoingMail.message_id, OutgoingMail.ticket_id, OutgoingMail.smtp_reply,
    OutgoingMail.uncertain_count, Ticket.number,
)


def _joined(stmt):
    return (stmt.outerjoin(Customer, Customer.id == OutgoingMail.customer_id)
            .outerjoin(Ticket, Ticket.id == OutgoingMail.ticket_id))


def _row(r) -> OutboxRow:
    return OutboxRow(
        id=r[0], status=r[1], created_at=r[2], to_addr=r[3], subject=r[4], attempts=r[5],
        last_error=r[6] or "", sent_at=r[7], customer_id=r[8], customer_name=r[9] or "",
        message_id=r[10], ticket_id=r[11], smtp_reply=r[12] or "", uncertain_count=r[13] or 0,
        ticket_number=r[14],
    )


def outbox_page(
    session: Session, *, status: str | None = None, limit: int = PAGE, before_id: int | None = None
) -> OutboxPage:
    """One page of the outbox, newest first (keyset by id)."""
    stmt = _joined(select(*_ROW_COLUMNS))
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
        _joined(select(*_ROW_COLUMNS, OutgoingMail.body))
        .where(OutgoingMail.id == mail_id)
    ).first()
    if r is None:
        raise NotFound(MSG_NO_MAIL.format(mail_id=mail_id))
    return OutboxMail(row=_row(r), body=r[-1])


__all__ = [
    "BouncedMail",
    "DEFAULT_TIMEOUT",
    "DeliveryReport",
    "OutboxMail",
    "OutboxPage",
    "OutboxRow",
    "SmtpConfig",
    "build_message",
    "deliver_outbox",
    "load_smtp_config",
    "mark_bounced",
    "outbox_counts",
    "outbox_mail",
    "outbox_page",
    "requeue_stale",
    "sender_domain",
]
