"""What thread workers hand back to the UI: one typed message per result.

Threading rules (as in harlequin): every database call runs in a thread worker through
``app.read``/``app.write``; a worker never touches a widget. It ends with
``self.post_message(SomethingLoaded(...))`` (``post_message`` is thread-safe) and an
``@on(SomethingLoaded)`` handler on the UI thread owns the widgets and the screen's state.
A worker that fails raises; ``screens.workers.WorkerNotices`` turns that into the one
German notice and posts ``WorkerFailed`` for whatever else the screen must do.

Messages are declared like dataclasses (as in posting): fields in order, defaults,
``field(default_factory=...)``; the types they carry are the services' frozen read models,
named here only for the reader (no import: the first frame stays light). ``@dataclass``
itself is not used: it writes and compiles an ``__init__``, ``__repr__`` and ``__eq__`` for
every class, ~1 ms each, ~35 ms for this module before the first frame. ``@message_class``
gives a message what it needs, the ``__init__`` (which ends in Textual's
``Message.__post_init__``, as under ``@dataclass``) and a ``__repr__``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import MISSING, Field, field
from typing import Any

from textual.message import Message


def message_class(cls: type[Message]) -> type[Message]:
    """A message declared like a dataclass, without code generation (see above)."""
    names = tuple(cls.__dict__.get("__annotations__", ()))
    defaults: dict[str, Any] = {}
    factories: dict[str, Any] = {}
    for name in names:
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            factories[name] = value.default_factory
            delattr(cls, name)
        elif value is not MISSING:
            defaults[name] = value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, {len(args)} given")
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {name!r}")
            values[name] = value
        for name in names:
            if name not in values:
                if name in factories:
                    values[name] = factories[name]()
                elif name in defaults:
                    values[name] = defaults[name]
                else:
                    raise TypeError(f"{cls.__name__}() missing argument {name!r}")
        self.__dict__.update(values)
        self.__post_init__()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{cls.__name__}({shown})"

    cls.__init__ = __init__
    cls.__repr__ = __repr__
    cls.__match_args__ = names
    return cls

# -- any screen -------------------------------------------------------------------------


@message_class
class WorkerFailed(Message):
    """A worker of this screen raised; the notice is out already (``text``)."""

    group: str
    text: str
    refused: bool  # a DeskError out of a write: someone else was first, or not allowed


# -- the inbox --------------------------------------------------------------------------


@message_class
class PageLoaded(Message):
    page: Any  # TicketPage
    token: Any  # filters.ChangeToken
    mode: str  # "around", "after", "before"
    requests: dict = field(default_factory=dict)  # ticket number -> own ExtensionRow
    request: int = 0  # the screen's page request this answers (a newer one drops it)


@message_class
class CountsLoaded(Message):
    counts: Any  # SidebarCounts, or None when only the list's own total was counted
    total: int
    notes: tuple = ()  # what the search read differently (tickets.search_notes)


@message_class
class DetailLoaded(Message):
    detail: Any  # TicketDetail
    neighbours: tuple = ()  # TicketDetails of the rows around it, read ahead for the cursor


@message_class
class ChangedElsewhere(Message):
    """The poll saw another desk change tickets."""


@message_class
class TicketFound(Message):
    row: Any  # TicketRow


@message_class
class FilterChoicesLoaded(Message):
    current: Any  # dialogs.FilterChoice
    people: list  # AgentRef


@message_class
class AssigneesLoaded(Message):
    targets: list  # TicketRow
    people: list  # AgentRef


@message_class
class TicketsChanged(Message):
    """A triage write or a decision is done: say what, what was refused, then reload."""

    done: str
    refused: list = field(default_factory=list)
    clear_marks: bool = False


# -- the customer card ------------------------------------------------------------------


@message_class
class CardLoaded(Message):
    card: Any  # CustomerCard
    limit_history: tuple  # CreditLimitChangeView


@message_class
class OrderSettled(Message):
    order: Any  # OrderView


@message_class
class CustomerMasterLoaded(Message):
    """The master-data dialog (card key ``E``) read the customer it edits."""

    master: Any  # CustomerMaster


# -- the customer search ----------------------------------------------------------------


@message_class
class CustomersFound(Message):
    query: str
    hits: list  # CustomerHit


# -- the outbox -------------------------------------------------------------------------


@message_class
class OutboxLoaded(Message):
    page: Any  # mail.OutboxPage
    counts: dict
    smtp: str
    appended: bool


@message_class
class MailLoaded(Message):
    shown: Any  # mail.OutboxMail


# -- the budget radar -------------------------------------------------------------------


@message_class
class RadarLoaded(Message):
    horizon: int
    rows: list  # radar.RadarRow
    total: int | None
    appended: bool
    more: bool


# -- a customer's tasks -----------------------------------------------------------------


@message_class
class TasksLoaded(Message):
    tasks: tuple  # TaskView
    budget: Any  # rules Budget
    expiries: tuple  # dt.date
    today: dt.date


@message_class
class TaskChanged(Message):
    what: str  # "close" or "delete"
    task: Any  # TaskView


# -- absences ---------------------------------------------------------------------------


@message_class
class AbsencesLoaded(Message):
    rows: list  # absences.AbsenceView
    today: dt.date


@message_class
class AbsenceFormReady(Message):
    people: list  # AgentRef
    today: dt.date


@message_class
class AbsenceDeleted(Message):
    absence: Any  # absences.AbsenceView


# -- agents and policy settings (admin) ------------------------------------------------


@message_class
class AgentsLoaded(Message):
    rows: list  # agent_admin.AgentView
    can_manage: bool  # the agent at the keyboard is an active admin


@message_class
class AgentChanged(Message):
    """An admin's change went through (or changed nothing): what to say, whom to show."""

    text: str
    login: str


@message_class
class SettingsLoaded(Message):
    rows: list  # policy_admin.SettingView
    can_manage: bool


# -- the App ----------------------------------------------------------------------------


@message_class
class RemindersSent(Message):
    text: str  # what the reminder job did, in German


# -- the ticket screen ------------------------------------------------------------------


@message_class
class TicketLoaded(Message):
    """The open ticket (``TicketDetail``) and the first page of its conversation."""

    detail: Any  # TicketDetail
    page: Any  # conversation.ConversationPage
    keep: int = -1  # the entry to stand on after a reload (-1: the default place)
    token: Any = None  # conversation.change_token as read with it


@message_class
class ConversationPageLoaded(Message):
    """A further page of the conversation (scrolled to the end of what is shown)."""

    page: Any  # conversation.ConversationPage


@message_class
class ReplyFormLoaded(Message):
    form: Any  # replies.ReplyForm
