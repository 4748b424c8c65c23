"""The rows an incoming message touches, in SQLAlchemy Core: no ORM, no SQLModel, no
pydantic, no ``models.tables``.

``deskapp mail receive`` runs as one process per message (the mail server's pipe), so
its start is paid per message: this module is what the receive transaction needs —
the system agent, the policy, the counter, a ticket, its events, the audit row, the
customer's addresses and the ``mail_*`` rows — as plain statements on a ``Connection``.
It is the one implementation: the ORM services (``tickets.open_ticket``,
``counters.next_value``, ``audit``, ``agents.by_login``, ``settings_store.load_policy``,
``contacts``, ``conversation``) call these functions with their session
(``conn_of(session)``), so both paths store exactly the same rows.

Tables are lightweight ``table()`` clauses with only the columns used here and the
column types that convert values (timestamps, UUIDs, booleans, bytes); the schema itself
is ``models.tables`` and its migrations.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple, Sequence

from sqlalchemy import Boolean, Integer, LargeBinary, Uuid, bindparam, func, select, update
from sqlalchemy.sql import column, table
from sqlalchemy.sql.expression import insert

from models.enums import EventKind, MailDirection, Priority, Queue, TicketKind, TicketStatus
from models.types import UTCDateTime

from .errors import InvalidInput, SettingProblem
from .readmodels import AgentRef, CustomerHit

SYSTEM_LOGIN = "system"

counter = table("counter", column("name"), column("value", Integer))
agent = table(
    "agent", column("id", Integer), column("login"), column("display_name"), column("roles"),
    column("active", Boolean),
)
policy_setting = table("policy_setting", column("key"), column("value"))
customer = table("customer", column("id", Uuid), column("number"), column("name"), column("email"))
customer_email = table(
    "customer_email", column("customer_id", Uuid), column("position", Integer), column("address"),
    column("address_key"),
)
ticket = table(
    "ticket", column("id", Integer), column("number", Integer), column("queue"), column("kind"),
    column("status"), column("priority", Integer), column("customer_id", Uuid), column("subject"),
    column("body"), column("assignee_id", Integer), column("flags"), column("order_id", Integer),
    column("extension_request_id", Integer), column("task_id", Integer), column("created_at", UTCDateTime),
    column("updated_at", UTCDateTime), column("version", Integer),
)
ticket_event = table(
    "ticket_event", column("id", Integer), column("ticket_id", Integer), column("agent_id", Integer),
    column("kind"), column("text"), column("old"), column("new"), column("created_at", UTCDateTime),
)
audit_log = table(
    "audit_log", column("at", UTCDateTime), column("agent_login"), column("action"), column("entity"),
    column("entity_id"), column("old"), column("new"),
)
mail_raw = table(
    "mail_raw", column("id", Integer), column("data", LargeBinary), column("size", Integer),
    column("received_at", UTCDateTime),
)
mail_message = table(
    "mail_message", column("id", Integer), column("ticket_id", Integer), column("direction"),
    column("message_id"), column("in_reply_to"), column("refs"), column("from_addr"), column("from_name"),
    column("to_addrs"), column("cc_addrs"), column("subject"), column("text"), column("sent_at", UTCDateTime),
    column("is_auto", Boolean), column("auto_reason"), column("bounce_of"), column("sender_is_customer", Boolean),
    column("unreadable", Boolean), column("notes"), column("raw_id", Integer), column("created_at", UTCDateTime),
)
mail_attachment = table(
    "mail_attachment", column("mail_message_id", Integer), column("position", Integer), column("filename"),
    column("content_type"), column("size", Integer), column("data", LargeBinary),
)


def conn_of(session_or_conn):
    """The ``Connection`` of an ORM session (its pending objects flushed first, so rows
    inserted here may refer to them), or the connection itself."""
    flush = getattr(session_or_conn, "flush", None)
    if flush is None:
        return session_or_conn
    flush()
    return session_or_conn.connection()


# --------------------------------------------------------------------------- audit, counters


def dump(value: Any) -> str:
    """An audit value as stored: text as it is, anything else as sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def audit_entry(actor: AgentRef, action: str, entity: str, entity_id: Any, *, old: Any = None, new: Any = None,
                now: dt.datetime) -> dict:
    """One audit row as a dict (``insert(AuditLog)`` takes a list of them)."""
    return {
        "at": now, "agent_login": actor.login, "action": action, "entity": entity,
        "entity_id": str(entity_id), "old": dump(old), "new": dump(new),
    }


_AUDIT = insert(audit_log)


def add_audit(conn, actor: AgentRef, action: str, entity: str, entity_id: Any, *, old: Any = None,
              new: Any = None, now: dt.datetime) -> None:
    conn.execute(_AUDIT, audit_entry(actor, action, entity, entity_id, old=old, new=new, now=now))


_NEXT_VALUE: dict[str, Any] = {}  # by dialect: one statement object, compiled once


def next_value(conn, name: str) -> int:
    """The next number of the counter ``name`` (one upsert; see ``services.counters``)."""
    dialect = conn.dialect.name
    stmt = _NEXT_VALUE.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        stmt = upsert(counter).values(name=bindparam("name"), value=1).on_conflict_do_update(
            index_elements=[counter.c.name], set_={"value": counter.c.value + 1}
        ).returning(counter.c.value)
        _NEXT_VALUE[dialect] = stmt
    return int(conn.execute(stmt, {"name": name}).scalar_one())


# --------------------------------------------------------------------------- agents, policy, customers


def agent_by_login(conn, login: str) -> AgentRef | None:
    """The active agent with this login, or None."""
    row = conn.execute(
        select(agent.c.id, agent.c.login, agent.c.display_name, agent.c.roles, agent.c.active)
        .where(agent.c.login == login).limit(1)
    ).first()
    if row is None or not row.active:
        return None
    return AgentRef(id=row.id, login=row.login, display_name=row.display_name, roles=frozenset(row.roles.split()))


def system_agent(conn) -> AgentRef:
    """The ``system`` agent that files incoming mail; ``UnknownAgent`` when the database lacks it."""
    ref = agent_by_login(conn, SYSTEM_LOGIN)
    if ref is None:
        from .errors import UnknownAgent

        raise UnknownAgent("Der System-Agent fehlt in dieser Datenbank.")
    return ref


def policy_overrides(conn) -> dict[str, str]:
    return {key: value for key, value in conn.execute(select(policy_setting.c.key, policy_setting.c.value))}


def load_policy(conn):
    """The policy in force; a stored value that does not parse is a ``SettingProblem`` naming it."""
    from ..settings import BadSetting, Policy

    try:
        return Policy().with_overrides(policy_overrides(conn))
    except BadSetting as exc:
        raise SettingProblem(exc.message) from None


def email_key(address: str) -> str:
    from ..rules.textcheck import email_key as key

    return key(address)


# Statements used per message are built once (their cache keys and compiled forms with them).
_HIT = select(customer.c.id, customer.c.number, customer.c.name, customer.c.email)
_BY_ADDRESS = (
    _HIT.join(customer_email, customer_email.c.customer_id == customer.c.id)
    .where(customer_email.c.address_key == bindparam("key")).order_by(customer.c.number)
)
_ADDRESSES = (
    select(customer_email.c.address).where(customer_email.c.customer_id == bindparam("cid"))
    .order_by(customer_email.c.position)
)
_CUSTOMER = _HIT.where(customer.c.id == bindparam("cid"))


def customers_by_address(conn, address: str) -> list[CustomerHit]:
    """The customers an incoming mail from ``address`` may belong to (case-insensitive)."""
    rows = conn.execute(_BY_ADDRESS, {"key": email_key(address)})
    return [CustomerHit(id=r.id, number=r.number, name=r.name, email=r.email) for r in rows]


def addresses_of(conn, customer_id) -> tuple[str, ...]:
    return tuple(conn.execute(_ADDRESSES, {"cid": customer_id}).scalars())


def customer_hit(conn, customer_id) -> CustomerHit:
    r = conn.execute(_CUSTOMER, {"cid": customer_id}).one()
    return CustomerHit(id=r.id, number=r.number, name=r.name, email=r.email)


# --------------------------------------------------------------------------- tickets

_TICKET_STATE = select(
    ticket.c.id, ticket.c.number, ticket.c.status, ticket.c.customer_id, ticket.c.updated_at
)


_STATE_BY_ID = _TICKET_STATE.where(ticket.c.id == bindparam("tid"))
_STATE_BY_NUMBER = _TICKET_STATE.where(ticket.c.number == bindparam("n"))


def ticket_state(conn, ticket_id: int):
    """``(id, number, status, customer_id, updated_at)`` of the ticket, or None."""
    return conn.execute(_STATE_BY_ID, {"tid": ticket_id}).first()


def ticket_state_by_number(conn, number: int):
    return conn.execute(_STATE_BY_NUMBER, {"n": number}).first()


_TICKET_NUMBER = select(ticket.c.number).where(ticket.c.id == bindparam("tid"))
_NEW_TICKET = insert(ticket).returning(ticket.c.id)
_EVENT = insert(ticket_event)
_TOUCH = update(ticket).where(ticket.c.id == bindparam("tid")).values(updated_at=bindparam("now"))


def ticket_number(conn, ticket_id: int) -> int:
    return conn.execute(_TICKET_NUMBER, {"tid": ticket_id}).scalar_one()


class TicketState(NamedTuple):
    """What ``ticket_state`` reads, for a ticket just opened (no query needed)."""

    id: int
    number: int
    status: str
    customer_id: Any
    updated_at: dt.datetime


def open_ticket(conn, actor: AgentRef, **fields) -> int:
    """A new ticket (status new) with its ``created`` event and audit row; returns its id
    (the fields: ``open_ticket_state``)."""
    return open_ticket_state(conn, actor, **fields).id


def open_ticket_state(
    conn, actor: AgentRef, *, queue: str, subject: str, now: dt.datetime, body: str = "",
    kind: str = TicketKind.GENERAL, priority: int = Priority.NORMAL, customer_id=None, flags: tuple[str, ...] = (),
    order_id: int | None = None, extension_request_id: int | None = None, task_id: int | None = None,
    assignee_id: int | None = None,
) -> TicketState:
    """A new ticket (status new) with its ``created`` event and audit row; returns its
    state as ``ticket_state`` would read it."""
    subject = subject.strip()
    if not subject:
        raise InvalidInput("Ein Ticket braucht einen Betreff.")
    for code, kind_of in ((queue, Queue), (kind, TicketKind), (priority, Priority)):
        try:
            kind_of(code)
        except ValueError:
            raise InvalidInput(f"Ungültiger Wert '{code}' für ein Ticket.") from None
    number = next_value(conn, "ticket")
    ticket_id = conn.execute(_NEW_TICKET, dict(
        number=number, queue=queue, kind=kind, status=TicketStatus.NEW, priority=priority, customer_id=customer_id,
        subject=subject[:255], body=body, assignee_id=assignee_id, flags=" ".join(flags), order_id=order_id,
        extension_request_id=extension_request_id, task_id=task_id, created_at=now, updated_at=now, version=1,
    )).scalar_one()
    conn.execute(_EVENT, dict(
        ticket_id=ticket_id, agent_id=actor.id, kind=EventKind.CREATED, text="", old="", new="", created_at=now,
    ))
    add_audit(conn, actor, "ticket.open", "ticket", number,
              new={"queue": queue, "kind": kind, "subject": subject, "priority": priority}, now=now)
    return TicketState(ticket_id, number, TicketStatus.NEW, customer_id, now)


def touch(conn, ticket_id: int, *, now: dt.datetime) -> None:
    """The ticket got a message: it moved (the inbox's change token sees it)."""
    conn_of(conn).execute(_TOUCH, {"tid": ticket_id, "now": now})


def reopen(conn, actor: AgentRef, ticket_id: int, *, now: dt.datetime, reason: str) -> bool:
    """Set a waiting or resolved ticket open again because the customer answered
    (docs/rules.md#mail-threading). False if it was neither (nothing changed)."""
    conn = conn_of(conn)
    row = ticket_state(conn, ticket_id)
    if row is None:
        from .errors import NotFound

        raise NotFound(f"Ticket {ticket_id} gibt es nicht.")
    if row.status not in (TicketStatus.WAITING, TicketStatus.RESOLVED):
        return False
    changed = conn.execute(
        update(ticket)
        .where(ticket.c.id == ticket_id, ticket.c.status == row.status)
        .values(status=TicketStatus.OPEN, version=ticket.c.version + 1, updated_at=now)
    ).rowcount
    if not changed:  # another transaction changed the status meanwhile (PostgreSQL)
        return False
    conn.execute(insert(ticket_event).values(
        ticket_id=ticket_id, agent_id=actor.id, kind=EventKind.STATUS, old=row.status, new=TicketStatus.OPEN,
        text=reason, created_at=now,
    ))
    add_audit(conn, actor, "ticket.reopen", "ticket", row.number, old={"status": row.status},
              new={"status": TicketStatus.OPEN, "reason": reason}, now=now)
    return True


def add_system_event(conn, actor: AgentRef, ticket_id: int, *, kind: str, text: str, now: dt.datetime,
                     action: str) -> None:
    """A system event on the ticket's history (audited as ``action``)."""
    conn = conn_of(conn)
    conn.execute(_EVENT, dict(
        ticket_id=ticket_id, agent_id=actor.id, kind=kind, text=text, old="", new="", created_at=now,
    ))
    add_audit(conn, actor, action, "ticket", ticket_number(conn, ticket_id), new=text, now=now)


def resolved_since(conn, ticket_id: int) -> dt.datetime | None:
    """When the ticket was last set resolved (its status event), or None."""
    return conn_of(conn).execute(
        select(func.max(ticket_event.c.created_at).label("at")).where(
            ticket_event.c.ticket_id == ticket_id, ticket_event.c.kind == EventKind.STATUS,
            ticket_event.c.new == TicketStatus.RESOLVED,
        )
    ).scalar()


# --------------------------------------------------------------------------- mail rows

_TICKETS_OF_MESSAGES = select(mail_message.c.message_id, mail_message.c.ticket_id).where(
    mail_message.c.message_id.in_(bindparam("ids", expanding=True))
)
_SENDERS = select(mail_message.c.from_addr).where(
    mail_message.c.ticket_id == bindparam("tid"), mail_message.c.direction == MailDirection.IN,
    mail_message.c.sender_is_customer == True,  # noqa: E712
)
_TICKET_OF_MESSAGE = select(mail_message.c.ticket_id).where(mail_message.c.message_id == bindparam("mid"))


def ticket_of_message(conn, message_id: str) -> int | None:
    """The ticket that holds the message with this Message-ID (in or out), or None."""
    return conn_of(conn).execute(_TICKET_OF_MESSAGE, {"mid": message_id}).scalar()


def ticket_of_any(conn, message_ids: Sequence[str]) -> int | None:
    """The ticket of the first of ``message_ids`` the desk knows (callers pass the most
    telling first: In-Reply-To, then References newest first)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    found = dict(conn_of(conn).execute(_TICKETS_OF_MESSAGES, {"ids": ids}).all())
    for message_id in ids:
        if message_id in found:
            return found[message_id]
    return None


def incoming_senders(conn, ticket_id: int) -> set[str]:
    """The lower-cased addresses that wrote to this ticket before (its requesters)."""
    rows = conn_of(conn).execute(_SENDERS, {"tid": ticket_id}).scalars()
    return {r.lower() for r in rows if r}


_RAW = insert(mail_raw).returning(mail_raw.c.id)
_MESSAGE = insert(mail_message).returning(mail_message.c.id)
_ATTACHMENT = insert(mail_attachment)


def record_message(
    conn,
    actor: AgentRef,
    *,
    ticket_id: int,
    direction: str,
    message_id: str | None,
    from_addr: str,
    subject: str,
    text: str,
    now: dt.datetime,
    from_name: str = "",
    to: str = "",
    cc: str = "",
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
    sent_at: dt.datetime | None = None,
    is_auto: bool = False,
    auto_reason: str = "",
    bounce_of: Sequence[str] = (),
    sender_is_customer: bool = True,
    unreadable: bool = False,
    notes: Sequence[str] = (),
    raw: bytes | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    keep_attachments: bool = True,
    number: int | None = None,
) -> int:
    """Store one message of ``ticket_id`` (audited); returns its id. A Message-ID that is
    already stored makes the insert fail on the unique index (the caller's transaction
    ends). ``number``: the ticket's number when the caller knows it."""
    conn = conn_of(conn)
    raw_id = None
    if raw is not None:
        raw_id = conn.execute(_RAW, {"data": raw, "size": len(raw), "received_at": now}).scalar_one()
    message_pk = conn.execute(_MESSAGE, {
        "ticket_id": ticket_id, "direction": direction, "message_id": message_id,
        "in_reply_to": " ".join(in_reply_to), "refs": " ".join(references), "from_addr": from_addr,
        "from_name": from_name, "to_addrs": to, "cc_addrs": cc, "subject": subject, "text": text,
        "sent_at": sent_at, "is_auto": is_auto, "auto_reason": auto_reason, "bounce_of": " ".join(bounce_of),
        "sender_is_customer": sender_is_customer, "unreadable": unreadable, "notes": "\n".join(notes),
        "raw_id": raw_id, "created_at": now,
    }).scalar_one()
    if attachments:
        conn.execute(_ATTACHMENT, [
            {"mail_message_id": message_pk, "position": position, "filename": filename,
             "content_type": content_type, "size": len(data), "data": data if keep_attachments else None}
            for position, (filename, content_type, data) in enumerate(attachments)
        ])
    if number is None:
        number = ticket_number(conn, ticket_id)
    add_audit(
        conn, actor, f"mail.{direction}", "mail_message", message_pk,
        new={
            "ticket": number, "message_id": message_id, "from": from_addr, "subject": subject[:255],
            "automatic": auto_reason or None, "sender_is_customer": sender_is_customer,
            "unreadable": unreadable, "attachments": len(attachments),
            "attachments_kept": keep_attachments if attachments else None,
        },
        now=now,
    )
    return message_pk


__all__ = [
    "add_audit", "add_system_event", "addresses_of", "agent_by_login", "audit_entry", "conn_of", "customer_hit",
    "customers_by_address", "dump", "incoming_senders", "load_policy", "next_value", "open_ticket", "open_ticket_state",
    "policy_overrides", "record_message", "system_agent", "reopen", "resolved_since", "ticket_number", "ticket_of_any",
    "ticket_of_message", "ticket_state", "ticket_state_by_number", "touch",
]
