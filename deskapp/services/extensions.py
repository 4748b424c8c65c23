"""Budget extension requests (docs/rules.md#extension, and the approver rules,
docs/rules.md#approvers).

An agent files a request for one package, or for all remaining budget expiring on the
same date; it becomes a ticket in the admin channel addressed to the approver, or to the
deputy when the approver is recorded absent on the filing day (nobody when both are
absent: it waits for whoever returns first). The approver — or the deputy, only on a day
the approver is absent — approves or rejects it, once: one conditional update on the
request decides, a second decider gets a ``Conflict`` naming who was first. Approval
applies the new validity, writes the customer file, logs and queues the customer's
e-mail and resolves the ticket in the same transaction as everything else.

**Decision** (docs/rules.md#approvers): when the approver files a request themself, it is
routed to the deputy, and the deputy may decide it on any day (the approver may not
decide their own request).
**Decision** (docs/rules.md#ext-one-waiting): one budget has at most one waiting request
at a time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from models.enums import ExtensionStatus, Queue, Role, TaskStatus, TicketKind
from models.tables import Agent, Customer, ExtensionRequest, HourPackage, Task, Ticket
from models.types import CENT

from .. import texts
from ..formatting import date_de, datetime_de, hours_label, today_berlin
from ..rules import extension as rules
from ..settings import Policy
from . import audit, journal, tickets
from . import budget as budgets
from .agents import is_absent, login_of
from .budget import PackageView, TaskView
from .customers import lock_customer
from .errors import Conflict, InvalidInput, NotFound, PermissionDenied
from .readmodels import AgentRef
from .versioning import bump

# Who may file a request (docs/rules.md#roles: agents request budget extensions).
REQUEST_ROLES = frozenset({Role.SUPPORT, Role.CONTRACT, Role.ADMIN})
MAX_REASON = 2000

# User-facing text (German).
MSG_SYSTEM_REQUEST = "Der System-Agent stellt keine Verlängerungsanträge."
MSG_NOT_REQUESTER = (
    "{login} darf keine Budgetverlängerung beantragen (nur Support, Vertragsbearbeitung, Admin)."
)
MSG_NO_REQUEST = "Verlängerungsantrag {request_id} gibt es nicht."
MSG_NO_TARGET = "Der Kunde hat kein Restbudget, das verlängert werden könnte."
MSG_NO_TARGET_ON = "Der Kunde hat kein Restbudget mit Ablauf am {day}."
MSG_TASK = "Aufgabe {task_id} ist keine offene Aufgabe dieses Kunden."
MSG_REBOOK_FIRST = (
    "Restbudget unter {threshold}: der Kunde muss zuerst nachbuchen – neues Paket erfassen "
    "oder ein Paket wählen, das in den letzten {days} Tagen gekauft wurde."
)
MSG_REBOOK_BOTH = "Entweder ein neues Paket erfassen oder ein gekauftes wählen, nicht beides."
MSG_REBOOK_OLD = (
    "Paket {package_id} zählt nicht als Nachbuchung: es muss ein Paket dieses Kunden sein, "
    "gekauft in den letzten {days} Tagen."
)
MSG_REBOOK_TARGET = "Das nachgebuchte Paket kann nicht selbst verlängert werden."
MSG_NEW_MINUTES = "Das neue Paket braucht eine ganze Zahl von Minuten größer als 0."
MSG_NEW_PRICE = "Der Preis des neuen Pakets muss ein Betrag in Euro (höchstens zwei Nachkommastellen, nicht negativ) sein."
MSG_NEW_DAY = "Das Kaufdatum des neuen Pakets muss zwischen {first} und heute liegen."
MSG_ALREADY_WAITING = "Für dieses Budget wartet schon Verlängerungsantrag {request_id} auf die Entscheidung."
MSG_SYSTEM_DECIDE = "Der System-Agent entscheidet keine Verlängerungsanträge."
MSG_NO_ROLE = "{login} darf Verlängerungsanträge nicht entscheiden (nur Genehmigung, oder Vertretung bei Abwesenheit)."
MSG_OWN = "Niemand entscheidet über den eigenen Antrag: {login} hat Antrag {request_id} selbst gestellt."
MSG_DEPUTY_DAY = (
    "{login} entscheidet als Vertretung nur an einem Tag, an dem die Genehmigung ({approver}) "
    "abwesend ist; für heute ist keine Abwesenheit eingetragen."
)
MSG_DECIDED = "Verlängerungsantrag {request_id} ist schon entschieden von {login} ({decision} am {when})."
MSG_REASON = "Eine Ablehnung braucht eine Begründung (höchstens 2000 Zeichen)."
MSG_PACKAGE_CHANGED = (
    "Paket {package_id} wurde inzwischen geändert (gültig bis {until} statt {old}); "
    "der Antrag passt nicht mehr – bitte ablehnen und neu stellen."
)
MSG_NO_VIEWER = "Kein Agent angemeldet."
ROUTE_APPROVER = "an {name} (Genehmigung)"
ROUTE_DEPUTY_ABSENT = "an {name} (Vertretung, {approver} abwesend)"
ROUTE_DEPUTY_OWN = "an {name} (Vertretung, {approver} stellt den Antrag selbst)"
ROUTE_WAIT = "{names} abwesend – wartet auf die erste Rückkehr"
ROUTE_NOBODY = "Keine Genehmigung eingerichtet – der Antrag wartet"
SUBJECT = "Budgetverlängerung: {customer}"
TARGET_LABEL = "gültig bis {until} · {remaining}"
TARGET_EXPIRED = " · abgelaufen"
TARGET_PACKAGES = " · {count} Pakete"
TASK_REF = "Nr. {task_id} {title}"
FILE_APPROVED = (
    "Budgetverlängerung genehmigt von {decider}: Restbudget {remaining}, gültig bis {old} → {new} "
    "(Antrag {request_id}, gestellt von {requester})."
)
FILE_REJECTED = (
    "Budgetverlängerung abgelehnt von {decider} (Antrag {request_id}, gestellt von {requester}, "
    "Vorschlag bis {proposal}). Begründung: {reason}"
)
NOTE_APPROVED = "Genehmigt: gültig bis {new}."
# The ticket flag of the deadline workaround (texts.FLAG; docs/rules.md#budget-workaround).
WORKAROUND_FLAG = "workaround"
NOTE_REJECTED = "Abgelehnt: {reason}"
MAIL_KIND = "extension_approved"
MAIL_SUBJECT = "Ihr Stundenbudget ist jetzt bis {new} gültig"
MAIL_BODY = (
    "Guten Tag,\n\n"
    "wir haben Ihr Stundenbudget verlängert: Ihr Restbudget von {remaining}, bisher gültig bis {old}, "
    "ist jetzt bis {new} gültig.\n\n"
    "Mit freundlichen Grüßen\nIhr Support-Team"
)


@dataclass(frozen=True)
class ExtensionView:
    """An extension request as the admin channel (and its requester) sees it now."""

    request_id: int
    status: str  # ExtensionStatus: waiting | approved | rejected
    requested_by: str  # login
    addressee: str | None  # login; None while approver and deputy are both absent
    routing_note: str  # German, e.g. "an Rebekka (Vertretung, Isabel abwesend)"
    customer_id: uuid.UUID
    customer_name: str
    old_valid_until: dt.date
    proposal: dt.date  # proposed new validity while waiting; the applied one once approved
    months: int
    remaining_minutes: int
    rebooking_needed: bool
    message: str  # the admin-channel post
    reason: str  # why it was rejected ("" otherwise)
    decided_by: str | None  # login
    decided_at: dt.datetime | None
    may_decide: str | None  # None: the viewing agent may decide now; else the German reason why not
    package_ids: tuple[int, ...] = ()
    task_id: int | None = None
    ticket_id: int | None = None
    ticket_number: int | None = None
    created_at: dt.datetime | None = None

    @property
    def waiting(self) -> bool:
        return self.status == "waiting"


@dataclass(frozen=True)
class ExtensionRow:
    """One of the agent's own extension requests (the "my requests" list)."""

    request_id: int
    customer_name: str
    status: str  # waiting | approved | rejected
    created_at: dt.datetime
    proposal: dt.date  # the proposed validity (the applied one once approved)
    new_valid_until: dt.date | None  # the applied validity once approved, else None
    reason: str
    ticket_number: int | None
    addressee: str | None = None
    decided_by: str | None = None


@dataclass(frozen=True)
class ExtensionTarget:
    """One package, or all remaining budget expiring on the same date."""

    valid_until: dt.date
    package_ids: tuple[int, ...]
    remaining_minutes: int  # unblocked remainder, valid or expired
    expired: bool
    label: str  # German one-liner for a select
    waiting_request: int | None = None  # a request for this budget already waits (the form says so)


@dataclass(frozen=True)
class ExtensionDraft:
    """Everything the extension form needs, read once when it opens."""

    customer_id: uuid.UUID
    customer_name: str
    customer_number: str
    targets: tuple[ExtensionTarget, ...]  # earliest expiry first; empty: nothing to extend
    open_tasks: tuple[TaskView, ...]
    recent_packages: tuple[PackageView, ...]  # purchased within policy.rebooking_recent_days
    addressee_name: str | None  # who gets it if filed today (None: approver and deputy absent)
    routing_note: str  # German
    today: dt.date
    addressee: str | None = None  # login


@dataclass(frozen=True)
class NewPackage:
    """A rebooking recorded on the spot from the extension form."""

    minutes: int
    price: Decimal
    purchased_on: dt.date
    label: str = ""


@dataclass(frozen=True)
class ExtensionPreview:
    proposal: dt.date | None
    rebooking_needed: bool
    message: str  # the admin-channel post as it would be filed ("" if not computable)
    errors: dict[str, str] = field(default_factory=dict)  # "target" | "months" | "task" | "rebooking"
    target: ExtensionTarget | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ExtensionResult:
    request_id: int
    status: str  # waiting | approved | rejected
    addressee: str | None  # login (None while both are absent)
    addressee_name: str | None
    valid_until: dt.date  # proposal while waiting; applied validity when approved; old one when rejected
    message: str
    reason: str
    ticket_id: int
    ticket_number: int
    decided_by: str | None = None


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Route:
    addressee: Agent | None
    note: str


def _roster(session: Session) -> list[Agent]:
    return list(
        session.execute(select(Agent).where(Agent.active == True).order_by(Agent.login)).scalars()  # noqa: E712
    )


def _with_role(agents: list[Agent], role: str) -> list[Agent]:
    return [a for a in agents if role in a.roles.split()]


def _approvers(session: Session) -> list[Agent]:
    return _with_role(_roster(session), Role.APPROVER)


def _deputies(session: Session) -> list[Agent]:
    return [a for a in _with_role(_roster(session), Role.DEPUTY) if Role.APPROVER not in a.roles.split()]


def _names(agents: list[Agent]) -> str:
    names = [a.display_name for a in agents]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " und " + names[-1]


def _route(session: Session, requester_id: int, day: dt.date) -> _Route:
    """Who a request filed on ``day`` goes to, and why, in German."""
    approvers = _approvers(session)
    deputies = _deputies(session)
    for approver in approvers:
        if approver.id != requester_id and not is_absent(session, approver.id, day):
            return _Route(approver, ROUTE_APPROVER.format(name=approver.display_name))
    if not approvers and not deputies:
        return _Route(None, ROUTE_NOBODY)
    own = any(a.id == requester_id for a in approvers)
    for deputy in deputies:
        if deputy.id != requester_id and not is_absent(session, deputy.id, day):
            template = ROUTE_DEPUTY_OWN if own else ROUTE_DEPUTY_ABSENT
            return _Route(deputy, template.format(name=deputy.display_name, approver=_names(approvers)))
    away = [a for a in approvers + deputies if a.id != requester_id]
    return _Route(None, ROUTE_WAIT.format(names=_names(away)) if away else ROUTE_NOBODY)


def _may_decide(session: Session, viewer: AgentRef | None, req: ExtensionRequest, day: dt.date) -> str | None:
    """None if ``viewer`` may decide ``req`` on ``day``; else the German reason why not."""
    if viewer is None:
        return MSG_NO_VIEWER
    if viewer.is_system:
        return MSG_SYSTEM_DECIDE
    is_approver = Role.APPROVER in viewer.roles
    if not is_approver and Role.DEPUTY not in viewer.roles:
        return MSG_NO_ROLE.format(login=viewer.login)
    if viewer.id == req.requested_by_id:
        return MSG_OWN.format(login=viewer.login, request_id=req.id)
    if req.status != ExtensionStatus.WAITING:
        return _decided_message(session, req)
    if is_approver:
        return None
    approvers = _approvers(session)
    if any(a.id == req.requested_by_id for a in approvers):
        return None  # the approver's own request: the deputy decides it
    if approvers and all(is_absent(session, a.id, day) for a in approvers):
        return None
    return MSG_DEPUTY_DAY.format(login=viewer.login, approver=_names(approvers) if approvers else "–")


def _decided_message(session: Session, req: ExtensionRequest) -> str:
    return MSG_DECIDED.format(
        request_id=req.id,
        login=login_of(session, req.decided_by_id) or "–",
        decision=texts.EXTENSION_STATUS.get(req.status, req.status),
        when=datetime_de(req.decided_at),
    )


# --------------------------------------------------------------------------- the form


def _require_requester(actor: AgentRef) -> None:
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM_REQUEST)
    if not (actor.roles & REQUEST_ROLES):
        raise PermissionDenied(MSG_NOT_REQUESTER.format(login=actor.login))


def targets_of(budget) -> tuple[ExtensionTarget, ...]:
    """The budget's remaining parts grouped by expiry date (``rules.budget.Budget`` in)."""
    groups: dict[dt.date, list] = {}
    for package in budget.packages:
        if package.remaining > 0:
            groups.setdefault(package.valid_until, []).append(package)
    result = []
    for until in sorted(groups):
        packages = groups[until]
        remaining = sum(p.remaining for p in packages)
        expired = all(p.expired for p in packages)
        label = TARGET_LABEL.format(until=date_de(until), remaining=hours_label(remaining))
        if expired:
            label += TARGET_EXPIRED
        if len(packages) > 1:
            label += TARGET_PACKAGES.format(count=len(packages))
        result.append(
            ExtensionTarget(
                valid_until=until,
                package_ids=tuple(p.id for p in packages),
                remaining_minutes=remaining,
                expired=expired,
                label=label,
            )
        )
    return tuple(result)


def _customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"Kunde {customer_id} gibt es nicht.")
    return customer


def draft(
    session: Session, actor: AgentRef, customer_id: uuid.UUID, *, now: dt.datetime, policy: Policy
) -> ExtensionDraft:
    """What the extension form starts from: targets, open tasks, recent packages, routing."""
    _require_requester(actor)
    customer = _customer(session, customer_id)
    today = today_berlin(now)
    budget = budgets.load_budget(session, customer.id, today)
    expiries = budgets.current_expiry_dates(session, customer.id)
    tasks = session.execute(
        select(Task)
        .where(Task.customer_id == customer.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.deadline.is_(None), Task.deadline, Task.id)
    ).scalars()
    earliest = today - dt.timedelta(days=policy.rebooking_recent_days)
    recent = session.execute(
        select(HourPackage)
        .where(
            HourPackage.customer_id == customer.id,
            HourPackage.purchased_on >= earliest,
            HourPackage.purchased_on <= today,
        )
        .order_by(HourPackage.purchased_on.desc(), HourPackage.id.desc())
    ).scalars()
    route = _route(session, actor.id, today)
    return ExtensionDraft(
        customer_id=customer.id,
        customer_name=customer.name,
        customer_number=customer.number,
        targets=tuple(
            replace(t, waiting_request=_waiting_for(session, t.package_ids)) for t in targets_of(budget)
        ),
        open_tasks=tuple(budgets.task_view(session, t, policy, expiries=expiries) for t in tasks),
        recent_packages=tuple(budgets.package_view(p, budget) for p in recent),
        addressee_name=route.addressee.display_name if route.addressee else None,
        routing_note=route.note,
        today=today,
        addressee=route.addressee.login if route.addressee else None,
    )


def _new_package_error(new: NewPackage, today: dt.date, policy: Policy) -> str | None:
    minutes = new.minutes
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        return MSG_NEW_MINUTES
    price = new.price
    if isinstance(price, (bool, float)):
        return MSG_NEW_PRICE
    try:
        price = price if isinstance(price, Decimal) else Decimal(str(price))
    except (ArithmeticError, ValueError, TypeError):
        return MSG_NEW_PRICE
    if not price.is_finite() or price < 0 or price != price.quantize(CENT):
        return MSG_NEW_PRICE
    first = today - dt.timedelta(days=policy.rebooking_recent_days)
    day = new.purchased_on
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime) or not first <= day <= today:
        return MSG_NEW_DAY.format(first=date_de(first))
    return None


def preview(
    draft: ExtensionDraft,
    *,
    valid_until: dt.date | None,
    months,
    task_id: int | None,
    rebooked_package_id: int | None,
    new_package: NewPackage | None,
    policy: Policy,
) -> ExtensionPreview:
    """The form's live check and the admin-channel post it would file. Pure: no session."""
    errors: dict[str, str] = {}
    target = None
    if not draft.targets:
        errors["target"] = MSG_NO_TARGET
    elif valid_until is None:
        target = draft.targets[0]
    else:
        target = next((t for t in draft.targets if t.valid_until == valid_until), None)
        if target is None:
            errors["target"] = MSG_NO_TARGET_ON.format(day=date_de(valid_until))
    if target is not None and target.waiting_request is not None:
        errors["target"] = MSG_ALREADY_WAITING.format(request_id=target.waiting_request)
    months_problem = rules.months_error(months, policy)
    if months_problem:
        errors["months"] = months_problem
    task = None
    if task_id is not None:
        task = next((t for t in draft.open_tasks if t.id == task_id), None)
        if task is None:
            errors["task"] = MSG_TASK.format(task_id=task_id)
    rebooking = target is not None and rules.needs_rebooking(target.remaining_minutes, policy)
    if new_package is not None and rebooked_package_id is not None:
        errors["rebooking"] = MSG_REBOOK_BOTH
    elif new_package is not None:
        problem = _new_package_error(new_package, draft.today, policy)
        if problem:
            errors["rebooking"] = problem
    elif rebooked_package_id is not None:
        if target is not None and rebooked_package_id in target.package_ids:
            errors["rebooking"] = MSG_REBOOK_TARGET
        elif not any(p.id == rebooked_package_id for p in draft.recent_packages):
            errors["rebooking"] = MSG_REBOOK_OLD.format(
                package_id=rebooked_package_id, days=policy.rebooking_recent_days
            )
    elif rebooking:
        errors["rebooking"] = MSG_REBOOK_FIRST.format(
            threshold=hours_label(policy.rebooking_threshold_minutes), days=policy.rebooking_recent_days
        )
    proposal = None
    message = ""
    if target is not None and not months_problem:
        proposal = rules.proposed_until(target.valid_until, draft.today, months)
        message = rules.admin_message(
            addressee_name=draft.addressee_name,
            customer_name=draft.customer_name,
            customer_id=draft.customer_id,
            valid_until=target.valid_until,
            remaining_minutes=target.remaining_minutes,
            task_ref=TASK_REF.format(task_id=task.id, title=task.title) if task is not None else "",
            proposal=proposal,
            rebooking=rebooking,
        )
    return ExtensionPreview(
        proposal=proposal, rebooking_needed=rebooking, message=message, errors=errors, target=target
    )


# --------------------------------------------------------------------------- filing


def _waiting_for(session: Session, package_ids: tuple[int, ...]) -> int | None:
    """The waiting request that covers any of these packages, if there is one."""
    rows = session.execute(
        select(ExtensionRequest.id, ExtensionRequest.package_ids).where(
            ExtensionRequest.status == ExtensionStatus.WAITING
        )
    ).all()
    wanted = set(package_ids)
    for request_id, ids in rows:
        if wanted & {int(x) for x in ids.split()}:
            return request_id
    return None


def request_extension(
    session: Session,
    actor: AgentRef,
    *,
    customer_id: uuid.UUID,
    valid_until: dt.date | None,
    months: int,
    task_id: int | None = None,
    rebooked_package_id: int | None = None,
    new_package: NewPackage | None = None,
    now: dt.datetime,
    policy: Policy,
) -> ExtensionResult:
    """File a request: the request row and its admin-channel ticket, in one transaction.

    ``valid_until`` picks the budget (all remaining budget expiring that day; None: the
    earliest). Under the rebooking threshold a ``new_package`` is booked here, or a
    ``rebooked_package_id`` bought within the policy's days is referenced.
    """
    _require_requester(actor)
    lock_customer(session, customer_id)
    form = draft(session, actor, customer_id, now=now, policy=policy)
    checked = preview(
        form, valid_until=valid_until, months=months, task_id=task_id,
        rebooked_package_id=rebooked_package_id, new_package=new_package, policy=policy,
    )
    if checked.target is not None and checked.target.waiting_request is not None:
        raise Conflict(MSG_ALREADY_WAITING.format(request_id=checked.target.waiting_request))
    for key in ("target", "months", "task", "rebooking"):
        if key in checked.errors:
            raise InvalidInput(checked.errors[key], field=key)
    target = checked.target
    waiting = _waiting_for(session, target.package_ids)
    if waiting is not None:
        raise Conflict(MSG_ALREADY_WAITING.format(request_id=waiting))
    if new_package is not None:
        booked = budgets.book_package(
            session, actor, customer_id=form.customer_id, minutes=new_package.minutes,
            price=new_package.price, purchased_on=new_package.purchased_on, now=now, policy=policy,
            label=new_package.label,
        )
        rebooked_package_id = booked.id
    route = _route(session, actor.id, form.today)
    req = ExtensionRequest(
        customer_id=form.customer_id,
        package_ids=" ".join(str(i) for i in target.package_ids),
        task_id=task_id,
        months=months,
        old_valid_until=target.valid_until,
        new_valid_until=checked.proposal,
        remaining_minutes=target.remaining_minutes,
        rebooking_needed=checked.rebooking_needed,
        rebooked_package_id=rebooked_package_id,
        requested_by_id=actor.id,
        addressee_id=route.addressee.id if route.addressee else None,
        status=ExtensionStatus.WAITING,
        message=checked.message,
        created_at=now,
    )
    session.add(req)
    session.flush()
    ticket = tickets.open_ticket(
        session, actor, queue=Queue.ADMIN, kind=TicketKind.EXTENSION_REQUEST,
        subject=SUBJECT.format(customer=form.customer_name), body=checked.message,
        customer_id=form.customer_id, extension_request_id=req.id, task_id=task_id,
        assignee_id=req.addressee_id, now=now,
    )
    tickets.add_note(session, actor, ticket.id, text_=route.note, now=now)
    audit.record(
        session, actor, "extension.request", "extension_request", req.id,
        new={
            "customer_id": form.customer_id, "package_ids": list(target.package_ids), "months": months,
            "old_valid_until": target.valid_until, "proposal": checked.proposal,
            "remaining_minutes": target.remaining_minutes, "rebooking_needed": checked.rebooking_needed,
            "rebooked_package_id": rebooked_package_id, "task_id": task_id,
            "addressee": route.addressee.login if route.addressee else None, "ticket": ticket.number,
        },
        now=now,
    )
    return ExtensionResult(
        request_id=req.id,
        status=ExtensionStatus.WAITING,
        addressee=route.addressee.login if route.addressee else None,
        addressee_name=route.addressee.display_name if route.addressee else None,
        valid_until=checked.proposal,
        message=checked.message,
        reason="",
        ticket_id=ticket.id,
        ticket_number=ticket.number,
    )


# --------------------------------------------------------------------------- deciding


def _load(session: Session, request_id: int) -> ExtensionRequest:
    req = session.get(ExtensionRequest, request_id) if isinstance(request_id, int) else None
    if req is None:
        raise NotFound(MSG_NO_REQUEST.format(request_id=request_id))
    return req


def _package_ids(req: ExtensionRequest) -> list[int]:
    return [int(x) for x in req.package_ids.split()]


def _request_ticket(session: Session, request_id: int) -> Ticket | None:
    return session.execute(
        select(Ticket)
        .where(Ticket.extension_request_id == request_id, Ticket.kind == TicketKind.EXTENSION_REQUEST)
        .order_by(Ticket.id.desc())
        .limit(1)
    ).scalar()


def _claim(session: Session, req: ExtensionRequest, values: dict) -> None:
    """The one conditional update that decides a request: exactly one caller wins.

    On PostgreSQL the loser waits for the winner's row lock and then matches zero rows;
    on SQLite ``BEGIN IMMEDIATE`` serialises the callers and the loser sees the decision
    when it loads the request.
    """
    if not bump(session, ExtensionRequest, req.id, req.version, ExtensionRequest.status == ExtensionStatus.WAITING,
                **values):
        current = session.get(ExtensionRequest, req.id, populate_existing=True)
        raise Conflict(_decided_message(session, current))
    session.refresh(req)


def decide(
    session: Session,
    actor: AgentRef,
    *,
    request_id: int,
    approve: bool,
    reason: str = "",
    now: dt.datetime,
    policy: Policy,
) -> ExtensionResult:
    """Approve or reject a waiting request, once, in one transaction.

    Approval applies ``max(old validity, today) + months`` to every package of the
    request (each with its own version check), writes the customer file, logs and queues
    the customer's e-mail and resolves the ticket. Rejection needs a reason; it is stored
    for the requester and written to the customer file.
    """
    if actor.is_system:
        raise PermissionDenied(MSG_SYSTEM_DECIDE)
    if Role.APPROVER not in actor.roles and Role.DEPUTY not in actor.roles:
        raise PermissionDenied(MSG_NO_ROLE.format(login=actor.login))
    reason = (reason or "").strip()
    if not approve and (not reason or len(reason) > MAX_REASON):
        raise InvalidInput(MSG_REASON, field="reason")
    req = _load(session, request_id)
    lock_customer(session, req.customer_id)
    session.refresh(req)
    day = today_berlin(now)
    refusal = _may_decide(session, actor, req, day)
    if refusal is not None:
        if req.status != ExtensionStatus.WAITING and actor.id != req.requested_by_id:
            raise Conflict(refusal)
        raise PermissionDenied(refusal)
    requester = login_of(session, req.requested_by_id) or "–"
    ticket = _request_ticket(session, req.id)
    if not approve:
        _claim(session, req, {
            "status": ExtensionStatus.REJECTED, "reason": reason, "decided_by_id": actor.id, "decided_at": now,
        })
        audit.record(
            session, actor, "extension.reject", "extension_request", req.id,
            old={"status": ExtensionStatus.WAITING}, new={"status": ExtensionStatus.REJECTED, "reason": reason},
            now=now,
        )
        journal.add_file_entry(
            session, actor, customer_id=req.customer_id, now=now,
            text=FILE_REJECTED.format(
                decider=actor.display_name, request_id=req.id, requester=requester,
                proposal=date_de(req.new_valid_until), reason=reason,
            ),
        )
        tickets.resolve_with_note(session, actor, ticket.id if ticket else None, note=NOTE_REJECTED.format(reason=reason), now=now)
        return _result(session, req, ticket, valid_until=req.old_valid_until)

    packages = [session.get(HourPackage, pid) for pid in _package_ids(req)]
    for package in packages:
        if package is None or package.valid_until != req.old_valid_until:
            raise Conflict(MSG_PACKAGE_CHANGED.format(
                package_id=package.id if package else "?",
                until=date_de(package.valid_until) if package else "–",
                old=date_de(req.old_valid_until),
            ))
    new_until = rules.proposed_until(req.old_valid_until, day, req.months)
    _claim(session, req, {
        "status": ExtensionStatus.APPROVED, "new_valid_until": new_until,
        "decided_by_id": actor.id, "decided_at": now,
    })
    for package in packages:
        if not bump(session, HourPackage, package.id, package.version, valid_until=new_until):
            session.refresh(package)
            raise Conflict(MSG_PACKAGE_CHANGED.format(
                package_id=package.id, until=date_de(package.valid_until), old=date_de(req.old_valid_until)
            ))
        audit.record(
            session, actor, "package.extend", "hour_package", package.id,
            old={"valid_until": req.old_valid_until}, new={"valid_until": new_until, "request": req.id}, now=now,
        )
    audit.record(
        session, actor, "extension.approve", "extension_request", req.id,
        old={"status": ExtensionStatus.WAITING},
        new={"status": ExtensionStatus.APPROVED, "new_valid_until": new_until}, now=now,
    )
    budget = budgets.load_budget(session, req.customer_id, day)
    ids = set(_package_ids(req))
    remaining = sum(p.remaining for p in budget.packages if p.id in ids)
    facts = {
        "old": date_de(req.old_valid_until), "new": date_de(new_until), "remaining": hours_label(remaining),
    }
    journal.add_file_entry(
        session, actor, customer_id=req.customer_id, now=now,
        text=FILE_APPROVED.format(decider=actor.display_name, request_id=req.id, requester=requester, **facts),
    )
    journal.log_message(
        session, customer_id=req.customer_id, kind=MAIL_KIND, subject=MAIL_SUBJECT.format(**facts),
        body=MAIL_BODY.format(**facts), now=now, actor=actor, ticket_id=ticket.id if ticket else None,
    )
    _settle_workaround_flags(session, actor, req.customer_id, policy=policy, now=now)
    tickets.resolve_with_note(session, actor, ticket.id if ticket else None, note=NOTE_APPROVED.format(**facts), now=now)
    return _result(session, req, ticket, valid_until=new_until)


def _settle_workaround_flags(
    session: Session, actor: AgentRef, customer_id: uuid.UUID, *, policy: Policy, now: dt.datetime
) -> None:
    """An approval moved the customer's expiry: a ticket flagged as the deadline workaround
    whose task's deadline no longer sits on a current expiry loses the flag, in the
    approval's transaction (docs/rules.md#budget-workaround). A ticket flagged without a
    task keeps it: there is no deadline to check."""
    flagged = tickets.flagged_of_customer(session, customer_id, WORKAROUND_FLAG)
    if not flagged:
        return
    expiries = budgets.current_expiry_dates(session, customer_id)
    for ticket_id, task_id in flagged:
        task = session.get(Task, task_id) if task_id is not None else None
        if task is None:
            continue
        if budgets.workaround_expiry(session, customer_id, task.deadline, policy, expiries=expiries) is None:
            tickets.drop_flag(session, actor, ticket_id, flag=WORKAROUND_FLAG, now=now)


def _result(session: Session, req: ExtensionRequest, ticket: Ticket | None, *, valid_until: dt.date) -> ExtensionResult:
    addressee = session.get(Agent, req.addressee_id) if req.addressee_id is not None else None
    return ExtensionResult(
        request_id=req.id,
        status=req.status,
        addressee=addressee.login if addressee else None,
        addressee_name=addressee.display_name if addressee else None,
        valid_until=valid_until,
        message=req.message,
        reason=req.reason,
        ticket_id=ticket.id if ticket else 0,
        ticket_number=ticket.number if ticket else 0,
        decided_by=login_of(session, req.decided_by_id),
    )


# --------------------------------------------------------------------------- reading


def result_of(session: Session, request_id: int) -> ExtensionResult:
    """A request as an ``ExtensionResult`` (the CLI prints it)."""
    req = _load(session, request_id)
    valid_until = req.old_valid_until if req.status == ExtensionStatus.REJECTED else req.new_valid_until
    return _result(session, req, _request_ticket(session, req.id), valid_until=valid_until)


def _routing_note(session: Session, req: ExtensionRequest) -> str:
    """Why the request went where it went (routing on its filing day, as filed)."""
    route = _route(session, req.requested_by_id, today_berlin(req.created_at))
    if (route.addressee.id if route.addressee else None) == req.addressee_id:
        return route.note
    # The recorded absences changed after the filing: describe what was filed.
    if req.addressee_id is None:
        away = [a for a in _approvers(session) + _deputies(session) if a.id != req.requested_by_id]
        return ROUTE_WAIT.format(names=_names(away)) if away else ROUTE_NOBODY
    addressee = session.get(Agent, req.addressee_id)
    if Role.APPROVER in addressee.roles.split():
        return ROUTE_APPROVER.format(name=addressee.display_name)
    return ROUTE_DEPUTY_ABSENT.format(name=addressee.display_name, approver=_names(_approvers(session)) or "–")


def extension_view(
    session: Session, viewer: AgentRef | None, request_id: int, *, now: dt.datetime
) -> ExtensionView:
    """The request as it stands now; ``may_decide`` answers for ``viewer`` today."""
    req = _load(session, request_id)
    customer = session.get(Customer, req.customer_id)
    ticket = _request_ticket(session, req.id)
    return ExtensionView(
        request_id=req.id,
        status=req.status,
        requested_by=login_of(session, req.requested_by_id) or "–",
        addressee=login_of(session, req.addressee_id),
        routing_note=_routing_note(session, req),
        customer_id=req.customer_id,
        customer_name=customer.name if customer else "",
        old_valid_until=req.old_valid_until,
        proposal=req.new_valid_until,
        months=req.months,
        remaining_minutes=req.remaining_minutes,
        rebooking_needed=req.rebooking_needed,
        message=req.message,
        reason=req.reason,
        decided_by=login_of(session, req.decided_by_id),
        decided_at=req.decided_at,
        may_decide=_may_decide(session, viewer, req, today_berlin(now)),
        package_ids=tuple(_package_ids(req)),
        task_id=req.task_id,
        ticket_id=ticket.id if ticket else None,
        ticket_number=ticket.number if ticket else None,
        created_at=req.created_at,
    )


def my_requests(session: Session, actor: AgentRef, *, limit: int = 50) -> list[ExtensionRow]:
    """The agent's own requests, newest first, with their outcome."""
    addressee = Agent.__table__.alias("addressee")
    decider = Agent.__table__.alias("decider")
    rows = session.execute(
        select(
            ExtensionRequest.id,
            Customer.name,
            ExtensionRequest.status,
            ExtensionRequest.created_at,
            ExtensionRequest.new_valid_until,
            ExtensionRequest.reason,
            Ticket.number,
            addressee.c.login.label("addressee"),
            decider.c.login.label("decider"),
        )
        .join(Customer, Customer.id == ExtensionRequest.customer_id)
        .outerjoin(Ticket, Ticket.extension_request_id == ExtensionRequest.id)
        .outerjoin(addressee, addressee.c.id == ExtensionRequest.addressee_id)
        .outerjoin(decider, decider.c.id == ExtensionRequest.decided_by_id)
        .where(ExtensionRequest.requested_by_id == actor.id)
        .order_by(ExtensionRequest.created_at.desc(), ExtensionRequest.id.desc())
        .limit(limit)
    ).all()
    return [
        ExtensionRow(
            request_id=r.id,
            customer_name=r.name,
            status=r.status,
            created_at=r.created_at,
            proposal=r.new_valid_until,
            new_valid_until=r.new_valid_until if r.status == ExtensionStatus.APPROVED else None,
            reason=r.reason,
            ticket_number=r.number,
            addressee=r.addressee,
            decided_by=r.decider,
        )
        for r in rows
    ]


__all__ = [
    "ExtensionDraft",
    "ExtensionPreview",
    "ExtensionResult",
    "ExtensionRow",
    "ExtensionTarget",
    "ExtensionView",
    "NewPackage",
    "decide",
    "draft",
    "extension_view",
    "my_requests",
    "preview",
    "request_extension",
    "result_of",
    "targets_of",
]
