"""Real-time orders against the credit limit (docs/rules.md#credit-limit).

An order within the limit is executed at once through the registry; one over the limit
is held with a process number and lands in contract processing; a registry failure
opens a technical ticket. The customer row is locked for the credit check, so two
orders of one customer cannot both squeeze under the limit.

Two steps, so an order is never lost and never executed twice
(docs/rules.md#order-protocol):

1. One transaction locks the customer, checks the limit and commits the order — held
   (over the limit: no registry call) or ``pending`` (it counts against the limit).
2. With no transaction and no lock held, the registry is called with the order's
   idempotency key ``desk-order-<id>`` (``registry.order_ref``).
3. A second transaction finishes it: executed, or failed with a Technik ticket.

Releasing a held order and Technik's retry run the same steps with the same key, so a
registry that already executed it answers "done" instead of executing it again. An
order left pending (a crash between the steps) is resolved by ``recover_pending``
(``deskapp orders recover``) through the registry's status query, never by registering
it again blind. The functions that call the registry commit the caller's session
between the steps.

Contract processing then releases, rejects or asks the customer about a held order —
decided once, by one conditional update — changes credit limits (with a reason, audited)
and settles executed orders; Technik retries failed ones. The pure rules (conspicuous,
working-time age, overdue) live in ``deskapp.rules.limits``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pendulum
from sqlalchemy import case, func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.enums import OrderStatus, Priority, Queue, Role, TicketKind, TicketStatus
from models.tables import Agent, AuditLog, CreditLimitChange, Customer, Order, Ticket
from models.types import CENT, Money

from .. import texts
from ..formatting import BERLIN, age_de, datetime_de, money, today_berlin
from ..rules import limits
from ..settings import Policy
from . import audit, counters, journal, tickets
from .customers import MSG_NO_CUSTOMER, lock_customer, to_hit
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef, CustomerHit, may_work_queue
from .registry import EXECUTED, FAILED, UNKNOWN, Registry, RegistryError, order_ref
from .versioning import bump

# Pending (at the registry), executed-but-unsettled and held orders count against the limit.
EXPOSURE_STATUSES = (OrderStatus.PENDING, OrderStatus.EXECUTED, OrderStatus.HELD)
# A technical bound (the cents must fit a BIGINT), not a policy number.
MAX_AMOUNT = Decimal("9999999.99")
MAX_ITEM = 255
MAX_SHOP_REF = 64  # order_.shop_ref
CONSPICUOUS_FLAG = "conspicuous"
SETTLE_ROLES = frozenset({Role.CONTRACT, Role.ADMIN, Role.SYSTEM})
# Who releases or rejects held orders and changes credit limits (docs/rules.md#roles).
CONTRACT_ROLES = frozenset({Role.CONTRACT, Role.ADMIN})
MAX_REASON = 2_000
DECISION_ACTIONS = {"order.release": "release", "order.reject": "reject"}

# User-facing text (German).
MSG_AMOUNT = "Der Betrag muss ein positiver Euro-Betrag mit höchstens zwei Nachkommastellen sein."
MSG_AMOUNT_TOO_BIG = "Der Betrag ist zu groß."
MSG_ITEM = "Eine Bestellung braucht einen Artikel (höchstens 255 Zeichen)."
MSG_NO_ORDER = "Bestellung {order_id} gibt es nicht."
MSG_NOT_SETTLEABLE = "Nur ausgeführte Bestellungen können abgerechnet werden (Bestellung {order_id} ist {status})."
MSG_SETTLE_DENIED = "{login} darf Bestellungen nicht als abgerechnet markieren."
MSG_ORDER_CHANGED = "Bestellung {order_id} wurde inzwischen geändert; bitte neu laden."

NOTICE_EXECUTED = "Bestellung {item} über {amount} ausgeführt."
NOTICE_HELD = (
    "Bestellung {item} über {amount} angehalten: Das Kreditlimit von {limit} wäre überschritten. "
    "Vorgangsnummer {process}. Die Vertragsbearbeitung prüft den Vorgang; der Kunde muss nichts tun."
)
NOTICE_FAILED = "Bestellung {item} nicht ausgeführt: {error} Technik-Ticket #{ticket}."
NOTICE_PENDING = "Bestellung {item} über {amount} ist in Ausführung: Die Vergabestelle hat noch nicht geantwortet."
NOTICE_REJECTED = "Bestellung {item} über {amount} (Vorgang {process}) wurde abgelehnt."
MSG_REGISTRY_SILENT = "Die Vergabestelle hat ohne Begründung nicht ausgeführt."
MSG_REGISTRY_FAILED_NO_REASON = "Die Vergabestelle meldet die Bestellung als nicht ausgeführt (ohne Begründung)."
MSG_STATUS_UNKNOWN = "Die Vergabestelle kennt die Bestellung nicht."
MSG_SHOP_REF = "Die Shop-Referenz muss 1 bis 64 Zeichen lang sein und darf keine Leerzeichen enthalten."
MSG_SHOP_REF_TAKEN = (
    "Die Shop-Referenz {ref} gehört schon zu Bestellung {order} ({item} über {amount}, Kunde {number}). "
    "Eine andere Bestellung braucht eine neue Referenz."
)
MSG_RECOVER_UNCLEAR = "Bestellung {order}: Status unklar ({reason}) – Technik-Ticket #{ticket}."
MSG_STILL_PENDING = (
    "Bestellung {item} ist gerade erst an die Vergabestelle gegangen; bitte die Antwort abwarten."
)
MSG_RECOVER_SKIPPED = "Bestellung {order} wurde inzwischen abgeschlossen."

UNCLEAR_SUBJECT = "Vergabestelle: Status unklar – {item} für {customer}"
UNCLEAR_BODY = """Status unklar, bitte bei der Vergabestelle prüfen.

Die Bestellung ist an die Vergabestelle gegangen, aber der Desk weiß nicht, ob sie
ausgeführt wurde (die Antwort ging verloren, z. B. durch einen Absturz). Der Desk fragt
sie nicht blind noch einmal an.

Kunde: {customer} ({number}): {customer_id}
Bestellung: {item}
Betrag: {amount}
Eingegangen: {placed}
Referenz bei der Vergabestelle: {ref}
Antwort auf die Statusabfrage: {reason}

Bis zur Klärung bleibt die Bestellung „in Ausführung“ und belastet das Kreditlimit.
Der nächste Lauf von „deskapp orders recover“ fragt erneut nach und schließt dieses
Ticket, sobald die Vergabestelle den Status kennt."""

HELD_SUBJECT = "Bestellung angehalten: {item} ({process}) – {customer}"
HELD_BODY = """Echtzeitbestellung über dem Kreditlimit angehalten.

Vorgangsnummer: {process}
Kunde: {customer} ({number}): {customer_id}
Bestellung: {item}
Betrag: {amount}
Kreditlimit: {limit}
Bisheriges Obligo: {exposure}
Obligo mit dieser Bestellung: {exposure_after}
Überschreitung: {over}
Eingegangen: {placed}

{conspicuous}"""
HELD_CONSPICUOUS = "Auffällig – bitte Rücksprache mit dem Kunden halten:\n{reasons}"
REASON_BULLET = "- {reason}"
HELD_PLAIN = "Nicht auffällig – freigeben oder ablehnen, keine Rücksprache nötig."

FAILED_SUBJECT = "Vergabestelle: {item} für {customer} nicht ausgeführt"
FAILED_BODY = """Die Echtzeitbestellung konnte nicht ausgeführt werden.

Kunde: {customer} ({number}): {customer_id}
Bestellung: {item}
Betrag: {amount}
Eingegangen: {placed}
Fehler der Vergabestelle: {error}

Die Bestellung belastet das Kreditlimit nicht."""

CUSTOMER_HELD_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process}"
CUSTOMER_HELD_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} überschreitet Ihr Kreditlimit für Echtzeitbestellungen
({limit}). Wir führen sie deshalb nicht sofort aus: Unsere Vertragsbearbeitung prüft den
Vorgang und meldet sich, sobald er entschieden ist. Sie müssen nichts weiter tun.

Ihre Vorgangsnummer: {process}

Mit freundlichen Grüßen
Ihr Support-Team"""


MSG_DECIDE_DENIED = "{login} darf angehaltene Bestellungen nicht entscheiden (nur Vertragsbearbeitung)."
MSG_RETRY_DENIED = "{login} darf fehlgeschlagene Bestellungen nicht erneut ausführen (nur Technik)."
MSG_LIMIT_DENIED = "{login} darf Kreditlimits nicht ändern (nur Vertragsbearbeitung)."
MSG_NOT_HELD = "Vorgang {process} ist nicht mehr angehalten (Status: {status})."
MSG_DECIDED = "Vorgang {process} wurde bereits von {login} am {when} {decision}."
MSG_NOT_FAILED = "Bestellung {item} ist nicht fehlgeschlagen (Status: {status}); nichts zu wiederholen."
MSG_REASON = "Bitte einen Grund angeben (höchstens 2.000 Zeichen)."
MSG_NOTE = "Bitte eine Notiz zur Rücksprache angeben (höchstens 10.000 Zeichen)."
MSG_LIMIT = "Das Kreditlimit muss ein Euro-Betrag ab 0,00 € mit höchstens zwei Nachkommastellen sein."
MSG_LIMIT_SAME = "Das Kreditlimit ist bereits {limit}."
MSG_CUSTOMER_CHANGED = "Kunde {number} wurde inzwischen geändert; bitte neu laden."
MSG_UNTIL = "Bitte ein Datum angeben, bis zu dem abgerechnet wird."

NOTICE_RELEASED = "Vorgang {process} freigegeben: Bestellung {item} über {amount} ausgeführt. Der Kunde ist informiert."
NOTICE_RELEASE_FAILED = (
    "Vorgang {process} freigegeben, aber nicht ausgeführt: {error} Technik-Ticket #{ticket}. Der Kunde ist informiert."
)
NOTICE_RETRY_FAILED = "Bestellung {item} wieder nicht ausgeführt: {error} Technik-Ticket #{ticket} bleibt offen."

TICKET_NOTE_RELEASED = "Vorgang {process} freigegeben: wird über die Vergabestelle ausgeführt."
TICKET_NOTE_REJECTED = "Vorgang {process} abgelehnt. Grund: {reason}"
TICKET_NOTE_RETRY_OK = "Erneuter Versuch: Bestellung {item} ausgeführt."
TICKET_NOTE_RETRY_HELD = "Erneuter Versuch: Bestellung {item} liegt über dem Kreditlimit und ist als Vorgang {process} angehalten."
TICKET_NOTE_RETRY_FAILED = "Erneuter Versuch fehlgeschlagen: {error}"

CUSTOMER_CONTACT_SUBJECT = "Rückfrage zu Ihrer Bestellung {item} – Vorgangsnummer {process}"
CUSTOMER_CONTACT_BODY = """Guten Tag {customer},

zu Ihrer Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) hat unsere
Vertragsbearbeitung eine Rückfrage:

{question}

Bitte antworten Sie einfach auf diese E-Mail; bis dahin bleibt die Bestellung angehalten.
"""

CUSTOMER_RELEASED_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process} ausgeführt"
CUSTOMER_RELEASED_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) wurde von unserer
Vertragsbearbeitung freigegeben und ausgeführt.

Mit freundlichen Grüßen
Ihr Support-Team"""
CUSTOMER_RELEASE_FAILED_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process} freigegeben"
CUSTOMER_RELEASE_FAILED_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) wurde von unserer
Vertragsbearbeitung freigegeben. Bei der Ausführung ist ein technischer Fehler aufgetreten;
unsere Technik kümmert sich darum. Sie müssen nichts tun.

Mit freundlichen Grüßen
Ihr Support-Team"""
CUSTOMER_REJECTED_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process} abgelehnt"
CUSTOMER_REJECTED_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) können wir leider nicht
ausführen.

Grund: {reason}

Bei Fragen antworten Sie einfach auf diese Nachricht und nennen Sie die Vorgangsnummer.

Mit freundlichen Grüßen
Ihr Support-Team"""
CUSTOMER_EXECUTED_LATE_SUBJECT = "Ihre Bestellung {item} – Vorgangsnummer {process} ausgeführt"
CUSTOMER_EXECUTED_LATE_BODY = """Guten Tag {customer},

Ihre Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) ist nun ausgeführt.

Mit freundlichen Grüßen
Ihr Support-Team"""


@dataclass(frozen=True)
class OrderView:
    id: int
    item: str
    amount: Decimal
    status: str
    process_number: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class HeldOrderView:
    """An order as contract processing (or Technik) decides on it, as it stands now."""

    order_id: int
    process_number: str | None
    item: str
    amount: Decimal
    status: str  # OrderStatus
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    credit_limit: Decimal
    exposure: Decimal  # the customer's current exposure (a held order counts in it)
    over_limit: Decimal  # how far this order puts / would put the customer over the limit (>= 0)
    reason_codes: tuple[str, ...]  # deskapp.rules.limits codes
    reasons: tuple[str, ...]  # the same in German sentences
    created_at: dt.datetime
    age: dt.timedelta
    age_label: str  # German, e.g. "3 Std"
    working_minutes: int  # age in working time (Mon–Fri office hours, Berlin)
    overdue: bool  # held and older than the policy's working hours
    error: str  # the registry's message of a failed order
    decided_by: str | None  # login of whoever released/rejected it
    decided_at: dt.datetime | None
    ticket_id: int | None = None  # the held-order ticket, if any
    ticket_number: int | None = None

    @property
    def conspicuous(self) -> bool:
        return bool(self.reason_codes)

    @property
    def is_held(self) -> bool:
        return self.status == "held"


@dataclass(frozen=True)
class CreditLimitChangeView:
    created_at: dt.datetime
    old_limit: Decimal
    new_limit: Decimal
    reason: str
    agent_login: str


@dataclass(frozen=True)
class OrderResult:
    order_id: int
    status: str  # executed | held | failed
    process_number: str | None
    ticket_number: int | None
    customer: CustomerHit
    item: str
    amount: Decimal
    limit: Decimal
    exposure: Decimal  # after this order
    headroom: Decimal  # limit - exposure after this order (negative when held)
    conspicuous_reasons: tuple[str, ...]
    notice: str  # German, for whoever placed the order

    @property
    def conspicuous(self) -> bool:
        return bool(self.conspicuous_reasons)


def exposure(session: Session, customer_id: uuid.UUID) -> Decimal:
    # The sum runs over stored cents; ``type_coerce`` turns it back into Decimal EUR.
    total = type_coerce(func.coalesce(func.sum(Order.amount), 0), Money)
    return session.execute(
        select(total).where(Order.customer_id == customer_id, Order.status.in_(EXPOSURE_STATUSES))
    ).scalar_one()


def validate_amount(amount) -> Decimal:
    """A positive, finite EUR amount with at most two decimals, else ``InvalidInput``."""
    return _checked_money(amount, positive=True, message=MSG_AMOUNT, field="amount")


def _checked_money(value, *, positive: bool, message: str, field: str) -> Decimal:
    """A service's own check of an amount (callers may pass Decimal, int or text): finite,
    cents-exact, not negative (and above zero when ``positive``), at most ``MAX_AMOUNT``."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(message, field=field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", "."))
    except (ArithmeticError, ValueError, TypeError):
        raise InvalidInput(message, field=field) from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise InvalidInput(message, field=field)
    if number > MAX_AMOUNT:  # before quantize: a huge exponent cannot be quantized to cents
        raise InvalidInput(MSG_AMOUNT_TOO_BIG, field=field)
    if number != number.quantize(CENT):
        raise InvalidInput(message, field=field)
    return number.quantize(CENT)


def _recent_orders(session: Session, customer_id: uuid.UUID, *, at: dt.datetime, policy: Policy) -> int:
    """The customer's real-time orders within the policy window ending at ``at``."""
    since = at - dt.timedelta(minutes=policy.conspicuous_orders_window_minutes)
    return int(
        session.execute(
            select(func.count()).select_from(Order).where(
                Order.customer_id == customer_id, Order.created_at > since, Order.created_at <= at
            )
        ).scalar_one()
    )


def reason_sentences(
    codes: tuple[str, ...], *, over: Decimal, limit: Decimal, recent_orders: int, customer_age: dt.timedelta,
    policy: Policy,
) -> tuple[str, ...]:
    """The reason codes of ``deskapp.rules.limits`` in German sentences."""
    facts = {
        limits.OVER_LIMIT: dict(
            over=money(over), percent=policy.conspicuous_over_limit_percent,
            threshold=money(limits.over_limit_threshold(limit, policy)),
        ),
        limits.MANY_ORDERS: dict(
            count=recent_orders, minutes=policy.conspicuous_orders_window_minutes,
            limit=policy.conspicuous_orders_count,
        ),
        limits.YOUNG_CUSTOMER: dict(days=customer_age.days, limit=policy.conspicuous_customer_age_days),
    }
    return tuple(texts.CONSPICUOUS_REASON[code].format(**facts[code]) for code in codes)


def _conspicuous(
    session: Session, customer: Customer, *, over: Decimal, limit: Decimal, at: dt.datetime, policy: Policy
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(codes, German sentences) for an order of ``customer`` arriving at ``at``."""
    recent = _recent_orders(session, customer.id, at=at, policy=policy)
    age = at - customer.created_at
    codes = limits.conspicuous_reasons(over=over, limit=limit, recent_orders=recent, customer_age=age, policy=policy)
    return codes, reason_sentences(codes, over=over, limit=limit, recent_orders=recent, customer_age=age, policy=policy)


def conspicuous_reasons(
    session: Session, customer: Customer, *, over: Decimal, limit: Decimal, now: dt.datetime, policy: Policy
) -> tuple[str, ...]:
    """Why a held order is conspicuous (docs/rules.md#held-conspicuous), in German; empty when it is not.

    Call after the order is flushed: it counts among the recent orders.
    """
    return _conspicuous(session, customer, over=over, limit=limit, at=now, policy=policy)[1]


def _facts(order: Order, customer: Customer, *, limit: Decimal | None = None) -> dict:
    return dict(
        customer=customer.name, number=customer.number, customer_id=customer.id, item=order.item,
        amount=money(order.amount), limit=money(customer.credit_limit if limit is None else limit),
        placed=datetime_de(order.created_at),
    )


def place_order(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    item: str,
    amount: Decimal,
    now: dt.datetime,
    policy: Policy,
    registry: Registry,
    shop_ref: str | None = None,
) -> OrderResult:
    """Execute, hold or fail a real-time order, in two transactions (see the module docstring).

    Commits ``session`` after the first step (the order is ``pending`` or ``held``) and
    calls the registry with no transaction open; the caller's ``write_session`` commits
    the second step. ``shop_ref``: the shop's reference — the same reference answers with
    the same order; one with other facts is a ``Conflict``.
    """
    amount = validate_amount(amount)
    item = (item or "").strip()
    if not item or len(item) > MAX_ITEM:
        raise InvalidInput(MSG_ITEM, field="item")
    ref = validate_shop_ref(shop_ref) if shop_ref is not None else None
    customer = lock_customer(session, customer_id)
    if ref is not None:
        existing = _by_shop_ref(session, ref)
        if existing is not None:
            return _repeat(session, existing, customer, item=item, amount=amount, ref=ref)
    order = Order(
        customer_id=customer_id, item=item, amount=amount, status=OrderStatus.PENDING,
        placed_by_id=actor.id, created_at=now, shop_ref=ref,
    )
    if ref is not None:
        # Two shops' calls with one reference for different customers do not share the
        # customer lock: the unique index decides, the loser answers with the winner's order.
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
        except IntegrityError:
            existing = _by_shop_ref(session, ref)
            if existing is None:
                raise
            return _repeat(session, existing, customer, item=item, amount=amount, ref=ref)
    started = _start(session, actor, order, customer, now=now, policy=policy, action="order.place")
    if isinstance(started, OrderResult):
        return started
    return _call_and_finish(session, actor, started, now=now, registry=registry, mode="place")


@dataclass(frozen=True)
class _Attempt:
    """A pending order, committed, about to go to the registry."""

    order_id: int
    order_ref: str
    item: str
    customer_number: str
    # The exposure the credit check saw without this order (None: report it as it is when finished).
    exposure_before: Decimal | None = None


def _start(session: Session, actor: AgentRef, order: Order, customer: Customer, *, now: dt.datetime,
           policy: Policy, action: str, skip_credit_check: bool = False, old=None) -> OrderResult | _Attempt:
    """Transaction 1: the credit check on the locked customer. Over the limit the order is
    held (and that is the answer); within it the order is committed as ``pending``."""
    limit = customer.credit_limit
    before = exposure(session, customer.id)
    if order.id is not None and order.status in EXPOSURE_STATUSES:
        before -= order.amount  # a new order already inserted (shop reference): not twice
    if not skip_credit_check and before + order.amount > limit:
        return _hold(session, actor, order, customer, to_hit(customer), _facts(order, customer, limit=limit),
                     limit=limit, before=before, now=now, policy=policy, action=action)
    order.status = OrderStatus.PENDING
    order.error = ""
    order.attempted_at = now
    session.add(order)
    session.flush()
    _audit(session, actor, order, now, action=action, old=old)
    attempt = _Attempt(order.id, order_ref(order.id), order.item, customer.number, exposure_before=before)
    session.commit()  # the order exists and counts before the registry hears of it
    return attempt


def _call_and_finish(session: Session, actor: AgentRef, attempt: _Attempt, *, now: dt.datetime,
                     registry: Registry, mode: str) -> OrderResult:
    """The registry call (no transaction open), then transaction 2."""
    try:
        registry.register(attempt.item, attempt.customer_number, order_ref=attempt.order_ref)
    except RegistryError as exc:
        error = str(exc) or MSG_REGISTRY_SILENT
    else:
        error = None
    return _finish(session, actor, attempt.order_id, error=error, now=now, mode=mode,
                   exposure_before=attempt.exposure_before)


def _finish(session: Session, actor: AgentRef, order_id: int, *, error: str | None, now: dt.datetime,
            mode: str, exposure_before: Decimal | None = None) -> OrderResult:
    """Transaction 2: a pending order becomes executed, or failed with a Technik ticket.

    ``mode`` (place, release, retry, recover) picks the notice and the customer's message.
    Decided once: if someone else finished the order meanwhile (``orders recover`` and a
    late answer), this one changes nothing and answers with the order as it stands.
    """
    order = _load_order(session, order_id)
    customer = session.get(Customer, order.customer_id)
    facts = _facts(order, customer)
    process = order.process_number
    values = (
        {"status": OrderStatus.EXECUTED, "error": "", "decided_at": now} if error is None
        else {"status": OrderStatus.FAILED, "error": error, "decided_at": now}
    )
    if order.status != OrderStatus.PENDING or not bump(
        session, Order, order.id, order.version, Order.status == OrderStatus.PENDING, **values
    ):
        session.refresh(order)
        return answer_for(session, order)
    session.refresh(order)
    _audit(session, actor, order, now, action="order.execute" if error is None else "order.fail",
           old={"status": OrderStatus.PENDING})
    tech = _order_ticket(session, order.id, TicketKind.REGISTRY_FAILURE, active_only=True)
    if exposure_before is None:
        now_exposure = exposure(session, customer.id)
    else:  # as the credit check decided: with this order if it executed, without if it failed
        now_exposure = exposure_before + (order.amount if error is None else Decimal("0.00"))
    if error is None:
        if tech is not None:
            tickets.resolve_with_note(session, actor, tech.id, note=TICKET_NOTE_RETRY_OK.format(item=order.item),
                                      now=now)
        if mode == "release":
            _tell_customer(session, actor, customer, "order_released", CUSTOMER_RELEASED_SUBJECT,
                           CUSTOMER_RELEASED_BODY, process=process, facts=facts, now=now, order_id=order.id)
            notice = NOTICE_RELEASED.format(process=process, **facts)
        else:
            if process and mode in ("retry", "recover"):
                _tell_customer(session, actor, customer, "order_executed", CUSTOMER_EXECUTED_LATE_SUBJECT,
                               CUSTOMER_EXECUTED_LATE_BODY, process=process, facts=facts, now=now, order_id=order.id)
            notice = NOTICE_EXECUTED.format(**facts)
        return _result(order, customer, notice=notice, ticket_number=None, exposure_now=now_exposure)
    if tech is not None:
        # The Technik ticket of an earlier failure stays open with the new error in its history.
        tickets.add_note(session, actor, tech.id, text_=TICKET_NOTE_RETRY_FAILED.format(error=error), now=now)
        number = tech.number
        notice = NOTICE_RETRY_FAILED.format(error=error, ticket=number, **facts)
    else:
        number = _open_failure_ticket(session, actor, order, facts, error, now=now).number
        notice = NOTICE_FAILED.format(error=error, ticket=number, **facts)
    if mode == "release":
        _tell_customer(session, actor, customer, "order_released", CUSTOMER_RELEASE_FAILED_SUBJECT,
                       CUSTOMER_RELEASE_FAILED_BODY, process=process, facts=facts, now=now, order_id=order.id)
        notice = NOTICE_RELEASE_FAILED.format(process=process, error=error, ticket=number, **facts)
    return _result(order, customer, notice=notice, ticket_number=number, exposure_now=now_exposure)


def _tell_customer(session, actor, customer, kind, subject, body, *, process, facts, now, order_id: int) -> None:
    """Mail the customer about the order, in the held-order ticket's thread when there is one
    (docs/rules.md#mail-threading)."""
    held = _order_ticket(session, order_id, TicketKind.HELD_ORDER)
    journal.log_message(
        session, customer_id=customer.id, kind=kind, subject=subject.format(process=process, **facts),
        body=body.format(process=process, **facts), now=now, actor=actor,
        ticket_id=held.id if held else None,
    )


# --------------------------------------------------------------------------- the shop's reference


def validate_shop_ref(raw) -> str:
    """The shop's order reference: 1–64 characters, no spaces, else ``InvalidInput``."""
    ref = (raw or "").strip() if isinstance(raw, str) else ""
    if not ref or len(ref) > MAX_SHOP_REF or any(ch.isspace() for ch in ref):
        raise InvalidInput(MSG_SHOP_REF, field="shop_ref")
    return ref


def _by_shop_ref(session: Session, ref: str) -> Order | None:
    return session.execute(select(Order).where(Order.shop_ref == ref)).scalar_one_or_none()


def _repeat(session: Session, existing: Order, customer: Customer, *, item: str, amount: Decimal,
            ref: str) -> OrderResult:
    """A repeat of a shop reference: the same facts answer with that order, other facts are refused."""
    if existing.customer_id != customer.id or existing.item != item or existing.amount != amount:
        owner = session.get(Customer, existing.customer_id)
        raise Conflict(MSG_SHOP_REF_TAKEN.format(
            ref=ref, order=existing.id, item=existing.item, amount=money(existing.amount), number=owner.number,
        ))
    return answer_for(session, existing)


def answer_for(session: Session, order: Order) -> OrderResult:
    """What an order says now, as ``place_order`` would have answered: a repeated shop
    reference, or a finish that someone else got to first."""
    customer = session.get(Customer, order.customer_id)
    facts = _facts(order, customer)
    now_exposure = exposure(session, customer.id)
    ticket_number = None
    reasons: tuple[str, ...] = ()
    status = OrderStatus(order.status)
    if status == OrderStatus.HELD:
        held = _order_ticket(session, order.id, TicketKind.HELD_ORDER)
        ticket_number = held.number if held else None
        notice = NOTICE_HELD.format(process=order.process_number, **facts)
    elif status == OrderStatus.FAILED:
        tech = _order_ticket(session, order.id, TicketKind.REGISTRY_FAILURE)
        ticket_number = tech.number if tech else None
        notice = NOTICE_FAILED.format(error=order.error, ticket=ticket_number, **facts)
    elif status == OrderStatus.PENDING:
        notice = NOTICE_PENDING.format(**facts)
    elif status == OrderStatus.REJECTED:
        notice = NOTICE_REJECTED.format(process=order.process_number, **facts)
    else:  # executed or settled
        notice = NOTICE_EXECUTED.format(**facts)
    return _result(order, customer, notice=notice, ticket_number=ticket_number, exposure_now=now_exposure,
                   reasons=reasons)


# --------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class RecoveredOrder:
    order_id: int
    order_ref: str
    outcome: str  # executed | failed | unclear | skipped (someone else finished it)
    ticket_number: int | None
    message: str  # German


@dataclass(frozen=True)
class RecoveryReport:
    orders: tuple[RecoveredOrder, ...]

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.orders if o.outcome == outcome)


def stale_pending(session: Session, *, now: dt.datetime, policy: Policy) -> tuple[int, ...]:
    """Orders pending longer than ``order_pending_stale_minutes`` (oldest first)."""
    cutoff = now - dt.timedelta(minutes=policy.order_pending_stale_minutes)
    return tuple(session.execute(
        select(Order.id)
        .where(Order.status == OrderStatus.PENDING,
               func.coalesce(Order.attempted_at, Order.created_at) <= cutoff)
        .order_by(Order.id)
    ).scalars())


def recover_pending(session: Session, actor: AgentRef, *, now: dt.datetime, policy: Policy,
                    registry: Registry) -> RecoveryReport:
    """Resolve orders left pending (docs/rules.md#order-recovery): ask the registry for the
    status of each ref — executed or failed finish the order; unknown or no answer opens
    one Technik ticket ("Status unklar") and the order stays pending. ``register`` is
    never called here. Commits ``session`` after each order; no transaction is open while
    the registry is asked.
    """
    ids = stale_pending(session, now=now, policy=policy)
    session.commit()
    done: list[RecoveredOrder] = []
    for order_id in ids:
        ref = order_ref(order_id)
        try:
            answer = registry.status(ref)
        except RegistryError as exc:
            answer, unclear = None, str(exc) or MSG_REGISTRY_SILENT
        else:
            unclear = MSG_STATUS_UNKNOWN if answer.state == UNKNOWN else ""
        if answer is not None and answer.state in (EXECUTED, FAILED):
            error = None if answer.state == EXECUTED else (answer.reason or MSG_REGISTRY_FAILED_NO_REASON)
            result = _finish(session, actor, order_id, error=error, now=now, mode="recover")
            outcome = result.status if result.status in (EXECUTED, FAILED) else "skipped"
            done.append(RecoveredOrder(order_id, ref, outcome, result.ticket_number, result.notice))
        else:
            done.append(_unclear(session, actor, order_id, ref, unclear, now=now))
        session.commit()
    return RecoveryReport(tuple(done))


def _unclear(session: Session, actor: AgentRef, order_id: int, ref: str, reason: str, *,
             now: dt.datetime) -> RecoveredOrder:
    """The registry cannot say what became of ``ref``: one Technik ticket, the order stays pending."""
    order = _load_order(session, order_id)
    if order.status != OrderStatus.PENDING:  # finished meanwhile
        return RecoveredOrder(order_id, ref, "skipped", None, MSG_RECOVER_SKIPPED.format(order=order_id))
    customer = session.get(Customer, order.customer_id)
    facts = _facts(order, customer)
    tech = _order_ticket(session, order.id, TicketKind.REGISTRY_FAILURE, active_only=True)
    if tech is None:
        tech = tickets.open_ticket(
            session, actor, queue=Queue.TECHNICAL, kind=TicketKind.REGISTRY_FAILURE, priority=Priority.HIGH,
            subject=UNCLEAR_SUBJECT.format(**facts),
            body=UNCLEAR_BODY.format(ref=ref, reason=reason, **facts),
            customer_id=order.customer_id, order_id=order.id, now=now,
        )
        audit.record(session, actor, "order.unclear", "order", order.id,
                     old={"status": OrderStatus.PENDING},
                     new={"status": OrderStatus.PENDING, "order_ref": ref, "reason": reason}, now=now)
    return RecoveredOrder(order_id, ref, "unclear", tech.number,
                          MSG_RECOVER_UNCLEAR.format(order=order_id, ticket=tech.number, reason=reason))


def _audit(session: Session, actor: AgentRef, order: Order, now: dt.datetime, *, action: str = "order.place",
           old=None) -> None:
    audit.record(
        session, actor, action, "order", order.id,
        old=old,
        new={
            "customer_id": order.customer_id, "item": order.item, "amount": order.amount,
            "status": order.status, "process_number": order.process_number, "error": order.error,
        },
        now=now,
    )


def _open_failure_ticket(session, actor, order, facts, error, *, now):
    return tickets.open_ticket(
        session, actor,
        queue=Queue.TECHNICAL,
        kind=TicketKind.REGISTRY_FAILURE,
        priority=Priority.HIGH,
        subject=FAILED_SUBJECT.format(**facts),
        body=FAILED_BODY.format(error=error, **facts),
        customer_id=order.customer_id,
        order_id=order.id,
        now=now,
    )


def _hold(session, actor, order, customer, hit, facts, *, limit, before, now, policy, action="order.place"):
    if not order.process_number:
        year = today_berlin(now).year
        order.process_number = f"VG-{year}-{counters.next_value(session, f'process-{year}'):06d}"
    process = order.process_number
    order.status = OrderStatus.HELD
    order.error = ""
    order.decided_at = None
    session.add(order)
    session.flush()
    _audit(session, actor, order, now, action=action)
    after = before + order.amount
    over = after - limit
    _, reasons = _conspicuous(session, customer, over=over, limit=limit, at=order.created_at, policy=policy)
    verdict = (
        HELD_CONSPICUOUS.format(reasons="\n".join(REASON_BULLET.format(reason=r) for r in reasons))
        if reasons else HELD_PLAIN
    )
    ticket = tickets.open_ticket(
        session, actor,
        queue=Queue.CONTRACT,
        kind=TicketKind.HELD_ORDER,
        priority=Priority.HIGH if reasons else Priority.NORMAL,
        subject=HELD_SUBJECT.format(process=process, **facts),
        body=HELD_BODY.format(
            process=process, exposure=money(before), exposure_after=money(after), over=money(over),
            conspicuous=verdict, **facts,
        ),
        customer_id=customer.id,
        order_id=order.id,
        flags=(CONSPICUOUS_FLAG,) if reasons else (),
        now=now,
    )
    journal.log_message(
        session,
        customer_id=customer.id,
        kind="order_held",
        subject=CUSTOMER_HELD_SUBJECT.format(process=process, **facts),
        body=CUSTOMER_HELD_BODY.format(process=process, **facts),
        now=now,
        actor=actor,
        ticket_id=ticket.id,  # the customer's answer belongs in the held-order ticket (docs/rules.md#mail-held-contact)
    )
    return OrderResult(
        order_id=order.id, status=order.status, process_number=process, ticket_number=ticket.number,
        customer=hit, item=order.item, amount=order.amount, limit=limit, exposure=after,
        headroom=limit - after, conspicuous_reasons=reasons,
        notice=NOTICE_HELD.format(process=process, **facts),
    )


# --------------------------------------------------------------------------- deciding held orders


def _require(actor: AgentRef, roles: frozenset[str], message: str) -> None:
    if actor.is_system or not (actor.roles & roles):
        raise PermissionDenied(message.format(login=actor.login))


def _load_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(MSG_NO_ORDER.format(order_id=order_id))
    return order


def _decision(session: Session, order_id: int) -> tuple[str, str, dt.datetime] | None:
    """(decision, login, when) of the release or rejection of an order, if it was decided."""
    row = session.execute(
        select(AuditLog.action, AuditLog.agent_login, AuditLog.at)
        .where(AuditLog.entity == "order", AuditLog.entity_id == str(order_id),
               AuditLog.action.in_(tuple(DECISION_ACTIONS)))
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return DECISION_ACTIONS[row.action], row.agent_login, row.at


def _not_held(session: Session, order: Order) -> Conflict:
    """The refusal for a held order someone decided first: who, when, what."""
    session.refresh(order)
    decided = _decision(session, order.id)
    process = order.process_number or f"#{order.id}"
    if order.status == OrderStatus.HELD:
        # Still held, but someone touched it at the same moment (e.g. a contact note).
        message = MSG_ORDER_CHANGED.format(order_id=process)
    elif decided is not None:
        decision, login, when = decided
        message = MSG_DECIDED.format(
            process=process, login=login, when=datetime_de(when), decision=texts.ORDER_DECISION[decision]
        )
    else:
        message = MSG_NOT_HELD.format(process=process, status=texts.ORDER_STATUS[OrderStatus(order.status)])
    return Conflict(message, order_view(order))


def _claim(session: Session, order: Order, *, from_status: str, values: dict, refusal) -> None:
    """The one conditional update that decides an order: exactly one caller wins.

    ``WHERE version = :seen AND status = :from`` — on PostgreSQL the loser waits for the
    winner's row lock and then matches zero rows; on SQLite ``BEGIN IMMEDIATE`` already
    serialises the callers and the loser sees the new status up front.
    """
    if order.status != from_status:
        raise refusal(session, order)
    if not bump(session, Order, order.id, order.version, Order.status == from_status, **values):
        raise refusal(session, order)
    session.refresh(order)


def _order_ticket(session: Session, order_id: int, kind: str, *, active_only: bool = False) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.order_id == order_id, Ticket.kind == kind)
    if active_only:
        stmt = stmt.where(Ticket.status != TicketStatus.RESOLVED)
    return session.execute(stmt.order_by(Ticket.id.desc()).limit(1)).scalar()


def _result(order: Order, customer: Customer, *, notice: str, ticket_number: int | None, exposure_now: Decimal,
            reasons: tuple[str, ...] = ()) -> OrderResult:
    return OrderResult(
        order_id=order.id, status=order.status, process_number=order.process_number, ticket_number=ticket_number,
        customer=to_hit(customer), item=order.item, amount=order.amount, limit=customer.credit_limit,
        exposure=exposure_now, headroom=customer.credit_limit - exposure_now, conspicuous_reasons=reasons,
        notice=notice,
    )


def release_order(
    session: Session, actor: AgentRef, *, order_id: int, now: dt.datetime, policy: Policy, registry: Registry
) -> OrderResult:
    """Execute a held order now through the registry, even over the limit (contract processing).

    Decided once: the order leaves ``held`` for ``pending`` in one conditional update, and
    that is committed before the registry is called, so a second agent pressing at the
    same time gets a ``Conflict`` naming who decided, and the registry is asked once. On a
    registry failure the order is failed (it no longer counts against the limit) and a
    Technik ticket is opened.
    """
    _require(actor, CONTRACT_ROLES, MSG_DECIDE_DENIED)
    order = _load_order(session, order_id)
    _claim(session, order, from_status=OrderStatus.HELD,
           values={"status": OrderStatus.PENDING, "decided_at": now, "attempted_at": now}, refusal=_not_held)
    customer = session.get(Customer, order.customer_id)
    process = order.process_number
    audit.record(
        session, actor, "order.release", "order", order.id,
        old={"status": OrderStatus.HELD}, new={"status": OrderStatus.PENDING, "process_number": process}, now=now,
    )
    held = _order_ticket(session, order.id, TicketKind.HELD_ORDER)
    tickets.resolve_with_note(session, actor, held.id if held else None,
                              note=TICKET_NOTE_RELEASED.format(process=process), now=now)
    attempt = _Attempt(order.id, order_ref(order.id), order.item, customer.number)
    session.commit()  # decided and pending before the registry hears of it
    return _call_and_finish(session, actor, attempt, now=now, registry=registry, mode="release")


def reject_order(session: Session, actor: AgentRef, *, order_id: int, reason: str, now: dt.datetime) -> OrderView:
    """Reject a held order with a reason: it frees its exposure and the customer is told why."""
    _require(actor, CONTRACT_ROLES, MSG_DECIDE_DENIED)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(MSG_REASON, field="reason")
    order = _load_order(session, order_id)
    _claim(session, order, from_status=OrderStatus.HELD,
           values={"status": OrderStatus.REJECTED, "decided_at": now}, refusal=_not_held)
    customer = session.get(Customer, order.customer_id)
    facts = _facts(order, customer)
    process = order.process_number
    audit.record(
        session, actor, "order.reject", "order", order.id,
        old={"status": OrderStatus.HELD},
        new={"status": OrderStatus.REJECTED, "process_number": process, "reason": reason}, now=now,
    )
    held = _order_ticket(session, order.id, TicketKind.HELD_ORDER)
    tickets.resolve_with_note(session, actor, held.id if held else None,
                              note=TICKET_NOTE_REJECTED.format(process=process, reason=reason), now=now)
    journal.log_message(
        session, customer_id=customer.id, kind="order_rejected",
        subject=CUSTOMER_REJECTED_SUBJECT.format(process=process, **facts),
        body=CUSTOMER_REJECTED_BODY.format(process=process, reason=reason, **facts), now=now, actor=actor,
        ticket_id=held.id if held else None,
    )
    return order_view(order)


def contact_customer(session: Session, actor: AgentRef, *, order_id: int, note: str, now: dt.datetime) -> OrderView:
    """Contract processing talks to the customer first: an internal note, ticket waiting, order still held."""
    _require(actor, CONTRACT_ROLES, MSG_DECIDE_DENIED)
    note = (note or "").strip()
    if not note or len(note) > 10_000:
        raise InvalidInput(MSG_NOTE, field="note")
    order = _load_order(session, order_id)
    # Bumping the order's version serialises this with a release or rejection at the same
    # moment: whichever comes second is refused instead of a decided ticket going back to waiting.
    _claim(session, order, from_status=OrderStatus.HELD, values={}, refusal=_not_held)
    ticket = _order_ticket(session, order.id, TicketKind.HELD_ORDER)
    if ticket is not None:
        row = tickets.get_row(session, ticket.id)
        tickets.add_note(session, actor, ticket.id, text_=note, now=now)
        if row.status != TicketStatus.WAITING:
            tickets.set_status(session, actor, row, status=TicketStatus.WAITING, now=now)
    # The question goes to the customer by mail, with the process number, into the held-order
    # ticket: the customer's answer threads back there (docs/rules.md#mail-held-contact).
    customer = session.get(Customer, order.customer_id)
    facts = _facts(order, customer)
    process = order.process_number or "–"
    logged = journal.log_message(
        session, customer_id=customer.id, kind="order_contact",
        subject=CUSTOMER_CONTACT_SUBJECT.format(process=process, **facts),
        body=CUSTOMER_CONTACT_BODY.format(process=process, question=note, **facts), now=now, actor=actor,
        ticket_id=ticket.id if ticket is not None else None,
    )
    audit.record(session, actor, "order.contact", "order", order.id,
                 new={"note": note, "mail_id": logged.mail_id}, now=now)
    return order_view(order)


def retry_order(
    session: Session, actor: AgentRef, *, order_id: int, now: dt.datetime, policy: Policy, registry: Registry
) -> OrderResult:
    """Run a failed order again (from its Technik ticket): credit check and registry.

    It may execute (the Technik ticket is resolved), be held over the limit (a held-order
    ticket opens, the Technik ticket is resolved) or fail again (the Technik ticket stays
    open with the new error). An order contract processing already released skips the
    credit check: that decision was taken once. The registry gets the order's same ref,
    so one it already executed (its answer came too late) is not executed twice.
    """
    if actor.is_system or not may_work_queue(actor, Queue.TECHNICAL):
        raise PermissionDenied(MSG_RETRY_DENIED.format(login=actor.login))
    order = _load_order(session, order_id)
    customer = lock_customer(session, order.customer_id)

    def not_failed(session, order):
        session.refresh(order)
        return Conflict(
            MSG_NOT_FAILED.format(item=order.item, status=texts.ORDER_STATUS[OrderStatus(order.status)]),
            order_view(order),
        )

    if order.status == OrderStatus.PENDING:
        return _retry_unclear(session, actor, order, customer, now=now, policy=policy, registry=registry,
                              refusal=not_failed)
    _claim(session, order, from_status=OrderStatus.FAILED, values={}, refusal=not_failed)
    decided = _decision(session, order.id)
    released = decided is not None and decided[0] == "release"
    tech = _order_ticket(session, order.id, TicketKind.REGISTRY_FAILURE, active_only=True)
    started = _start(session, actor, order, customer, now=now, policy=policy, action="order.retry",
                     skip_credit_check=released, old={"status": OrderStatus.FAILED})
    if isinstance(started, OrderResult):  # held over the limit
        tickets.resolve_with_note(session, actor, tech.id if tech else None, now=now,
                                  note=TICKET_NOTE_RETRY_HELD.format(item=order.item, process=order.process_number))
        return started
    return _call_and_finish(session, actor, started, now=now, registry=registry, mode="retry")


def _retry_unclear(session: Session, actor: AgentRef, order: Order, customer: Customer, *, now: dt.datetime,
                   policy: Policy, registry: Registry, refusal) -> OrderResult:
    """Technik sends an order left pending again after checking with the registry ("Status
    unklar" ticket). Only a stale one: a fresh one may still be waiting for its answer.
    No new credit check — it has counted against the limit all along — and the same ref,
    so a registry that did execute it answers "done"."""
    if order.id not in stale_pending(session, now=now, policy=policy):
        raise Conflict(MSG_STILL_PENDING.format(item=order.item), order_view(order))
    _claim(session, order, from_status=OrderStatus.PENDING, values={"attempted_at": now}, refusal=refusal)
    _audit(session, actor, order, now, action="order.retry", old={"status": OrderStatus.PENDING})
    attempt = _Attempt(order.id, order_ref(order.id), order.item, customer.number)
    session.commit()
    return _call_and_finish(session, actor, attempt, now=now, registry=registry, mode="retry")


# --------------------------------------------------------------------------- credit limit


def validate_limit(value) -> Decimal:
    """A finite EUR amount from 0.00 with at most two decimals, else ``InvalidInput``."""
    return _checked_money(value, positive=False, message=MSG_LIMIT, field="new_limit")


def _customer_uuid(customer_id) -> uuid.UUID:
    if isinstance(customer_id, uuid.UUID):
        return customer_id
    try:
        return uuid.UUID(str(customer_id).strip())
    except ValueError:
        raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id)) from None


def change_credit_limit(
    session: Session, actor: AgentRef, *, customer_id: uuid.UUID, new_limit: Decimal, reason: str, now: dt.datetime
) -> CreditLimitChangeView:
    """Raise or lower a customer's credit limit, always with a reason (contract processing)."""
    _require(actor, CONTRACT_ROLES, MSG_LIMIT_DENIED)
    limit = validate_limit(new_limit)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(MSG_REASON, field="reason")
    customer = lock_customer(session, _customer_uuid(customer_id))
    old = customer.credit_limit
    if old == limit:
        raise InvalidInput(MSG_LIMIT_SAME.format(limit=money(old)), field="new_limit")
    if not bump(session, Customer, customer.id, customer.version, credit_limit=limit):
        raise Conflict(MSG_CUSTOMER_CHANGED.format(number=customer.number))
    session.refresh(customer)
    session.add(CreditLimitChange(
        customer_id=customer.id, old_limit=old, new_limit=limit, reason=reason, agent_id=actor.id, created_at=now,
    ))
    audit.record(
        session, actor, "customer.credit_limit", "customer", customer.id,
        old={"credit_limit": old}, new={"credit_limit": limit, "reason": reason}, now=now,
    )
    return CreditLimitChangeView(created_at=now, old_limit=old, new_limit=limit, reason=reason,
                                 agent_login=actor.login)


def credit_limit_history(session: Session, customer_id: uuid.UUID, limit: int = 20) -> tuple[CreditLimitChangeView, ...]:
    """The customer's credit-limit changes, newest first."""
    rows = session.execute(
        select(
            CreditLimitChange.created_at, CreditLimitChange.old_limit, CreditLimitChange.new_limit,
            CreditLimitChange.reason, func.coalesce(Agent.login, "").label("login"),
        )
        .outerjoin(Agent, Agent.id == CreditLimitChange.agent_id)
        .where(CreditLimitChange.customer_id == _customer_uuid(customer_id))
        .order_by(CreditLimitChange.created_at.desc(), CreditLimitChange.id.desc())
        .limit(limit)
    )
    return tuple(
        CreditLimitChangeView(created_at=r.created_at, old_limit=r.old_limit, new_limit=r.new_limit,
                              reason=r.reason, agent_login=r.login)
        for r in rows
    )


# --------------------------------------------------------------------------- settling


def settle_order(session: Session, actor: AgentRef, *, order_id: int, now: dt.datetime) -> OrderView:
    """An executed order was invoiced and paid: its amount no longer counts against the limit."""
    if not (actor.roles & SETTLE_ROLES):
        raise PermissionDenied(MSG_SETTLE_DENIED.format(login=actor.login))
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(MSG_NO_ORDER.format(order_id=order_id))
    if order.status != OrderStatus.EXECUTED:
        raise InvalidInput(
            MSG_NOT_SETTLEABLE.format(order_id=order_id, status=texts.ORDER_STATUS[OrderStatus(order.status)])
        )
    if not bump(session, Order, order_id, order.version, Order.status == OrderStatus.EXECUTED,
                status=OrderStatus.SETTLED, settled_at=now):
        raise Conflict(MSG_ORDER_CHANGED.format(order_id=order_id))
    session.refresh(order)
    audit.record(
        session, actor, "order.settle", "order", order_id,
        old={"status": OrderStatus.EXECUTED}, new={"status": OrderStatus.SETTLED}, now=now,
    )
    return order_view(order)


def settle_orders_until(
    session: Session, actor: AgentRef, *, customer_id: uuid.UUID | None, until: dt.date, now: dt.datetime
) -> int:
    """Settle every executed order placed on or before ``until`` (a Berlin calendar day),
    of one customer or of all; returns how many were settled."""
    if not (actor.roles & SETTLE_ROLES):
        raise PermissionDenied(MSG_SETTLE_DENIED.format(login=actor.login))
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise InvalidInput(MSG_UNTIL, field="until")
    next_day = until + dt.timedelta(days=1)
    cutoff = _berlin_midnight(next_day)
    where = [Order.status == OrderStatus.EXECUTED, Order.created_at < cutoff]
    if customer_id is not None:
        cid = _customer_uuid(customer_id)
        if session.get(Customer, cid) is None:
            raise NotFound(MSG_NO_CUSTOMER.format(customer_id=customer_id))
        where.append(Order.customer_id == cid)
    settled = session.execute(
        update(Order)
        .where(*where)
        .values(status=OrderStatus.SETTLED, settled_at=now, version=Order.version + 1)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    for order_id in sorted(settled):
        audit.record(
            session, actor, "order.settle", "order", order_id,
            old={"status": OrderStatus.EXECUTED}, new={"status": OrderStatus.SETTLED, "until": until}, now=now,
        )
    return len(settled)


def _berlin_midnight(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Berlin, as an aware UTC datetime."""
    local = pendulum.datetime(day.year, day.month, day.day, tz=BERLIN)
    return dt.datetime.fromtimestamp(local.timestamp(), tz=dt.UTC)


# --------------------------------------------------------------------------- reading


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        item=order.item,
        amount=order.amount,
        status=order.status,
        process_number=order.process_number,
        created_at=order.created_at,
    )


def held_order_view(session: Session, order_id: int, *, now: dt.datetime, policy: Policy) -> HeldOrderView:
    """An order as contract processing decides on it: limit, exposure, how far over,
    why it is conspicuous, its age in working time, and who decided it."""
    order = _load_order(session, order_id)
    customer = session.get(Customer, order.customer_id)
    limit = customer.credit_limit
    current = exposure(session, customer.id)
    without = current - order.amount if order.status in EXPOSURE_STATUSES else current
    # How far over the limit this order puts the customer now (held or executed), or would (others).
    over = max(Decimal("0.00"), without + order.amount - limit)
    codes, reasons = (), ()
    if order.process_number:
        codes, reasons = _conspicuous(session, customer, over=over, limit=limit, at=order.created_at, policy=policy)
    held = order.status == OrderStatus.HELD
    end = now if held or order.decided_at is None else order.decided_at
    age = max(dt.timedelta(0), end - order.created_at)
    decided = _decision(session, order.id)
    ticket = session.execute(
        select(Ticket.id, Ticket.number)
        .where(Ticket.order_id == order.id)
        .order_by(case((Ticket.kind == TicketKind.HELD_ORDER, 0), else_=1), Ticket.id.desc())
        .limit(1)
    ).first()
    return HeldOrderView(
        order_id=order.id,
        process_number=order.process_number,
        item=order.item,
        amount=order.amount,
        status=order.status,
        customer_id=customer.id,
        customer_number=customer.number,
        customer_name=customer.name,
        credit_limit=limit,
        exposure=current,
        over_limit=over,
        reason_codes=codes,
        reasons=reasons,
        created_at=order.created_at,
        age=age,
        age_label=age_de(order.created_at, end),
        working_minutes=limits.working_minutes_between(
            order.created_at, end, start_hour=policy.working_day_start_hour, end_hour=policy.working_day_end_hour
        ),
        overdue=held and limits.is_overdue(order.created_at, now, policy),
        error=order.error,
        decided_by=decided[1] if decided else None,
        decided_at=decided[2] if decided else None,
        ticket_id=ticket.id if ticket else None,
        ticket_number=ticket.number if ticket else None,
    )


__all__ = [
    "EXPOSURE_STATUSES",
    "CreditLimitChangeView",
    "HeldOrderView",
    "OrderResult",
    "OrderView",
    "change_credit_limit",
    "conspicuous_reasons",
    "contact_customer",
    "credit_limit_history",
    "exposure",
    "held_order_view",
    "order_view",
    "RecoveredOrder",
    "RecoveryReport",
    "answer_for",
    "place_order",
    "recover_pending",
    "stale_pending",
    "validate_shop_ref",
    "reject_order",
    "release_order",
    "retry_order",
    "settle_order",
    "settle_orders_until",
    "validate_amount",
    "validate_limit",
]


# Which decision a ticket's order waits for: release, reject and contact apply to a held
# order on its held-order ticket; retry to a failed order on its registry-failure ticket.
ORDER_ACTIONS = ("release", "reject", "contact", "retry")


def order_action_applies(action: str, *, ticket_kind: str, order_status: str) -> bool:
    """Whether ``action`` applies now to the order of a ticket of ``ticket_kind``.

    Who may take it is decided when it is taken (``release_order`` & co. refuse); this
    only says whether the order waits for it, so a screen offers the key or hides it.
    """
    if action == "retry":
        # A failed order, or one left pending whose status the registry could not tell ("Status unklar").
        return ticket_kind == TicketKind.REGISTRY_FAILURE and order_status in (OrderStatus.FAILED, OrderStatus.PENDING)
    if action in ("release", "reject", "contact"):
        return ticket_kind == TicketKind.HELD_ORDER and order_status == OrderStatus.HELD
    raise ValueError(f"unknown order action {action!r}")


__all__ += ["ORDER_ACTIONS", "order_action_applies"]
