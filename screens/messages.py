"""What thread workers hand back to the UI: one typed message per result.

Threading rules (as in harlequin): every database call runs in a thread worker through
``app.read``/``app.write``; a worker never touches a widget. It ends with
``self.post_message(SomethingLoaded(...))`` (``post_message`` is thread-safe) and an
``@on(SomethingLoaded)`` handler on the UI thread owns the widgets and the screen's state.
A worker that fails raises; ``screens.workers.WorkerNotices`` turns that into the one
German notice and posts ``WorkerFailed`` for whatever else the screen must do.

Messages are dataclasses (as in posting; Textual's ``Message.__post_init__`` sets itself up); the types they carry are the services' frozen
read models, named here only for the reader (no import: the first frame stays light).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

# -- any screen -------------------------------------------------------------------------


@dataclass
class WorkerFailed(Message):
    """A worker of this screen raised; the notice is out already (``text``)."""

    group: str
    text: str
    refused: bool  # a DeskError out of a write: someone else was first, or not allowed


# -- the inbox --------------------------------------------------------------------------


@dataclass
class PageLoaded(Message):
    page: Any  # TicketPage
    token: Any  # filters.ChangeToken
    mode: str  # "around", "after", "before"
    requests: dict = field(default_factory=dict)  # ticket number -> own ExtensionRow
    request: int = 0  # the screen's page request this answers (a newer one drops it)


@dataclass
class CountsLoaded(Message):
    counts: Any  # SidebarCounts, or None when only the list's own total was counted
    total: int
    notes: tuple = ()  # what the search read differently (tickets.search_notes)


@dataclass
class DetailLoaded(Message):
    detail: Any  # TicketDetail
    neighbours: tuple = ()  # TicketDetails of the rows around it, read ahead for the cursor


@dataclass
class ChangedElsewhere(Message):
    """The poll saw another desk change tickets."""


@dataclass
class TicketFound(Message):
    row: Any  # TicketRow


@dataclass
class FilterChoicesLoaded(Message):
    current: Any  # dialogs.FilterChoice
    people: list  # AgentRef


@dataclass
class AssigneesLoaded(Message):
    targets: list  # TicketRow
    people: list  # AgentRef


@dataclass
class TicketsChanged(Message):
    """A triage write or a decision is done: say what, what was refused, then reload."""

    done: str
    refused: list = field(default_factory=list)
    clear_marks: bool = False


# -- the customer card ------------------------------------------------------------------


@dataclass
class CardLoaded(Message):
    card: Any  # CustomerCard
    limit_history: tuple  # CreditLimitChangeView


@dataclass
class OrderSettled(Message):
    order: Any  # OrderView


@dataclass
class CustomerMasterLoaded(Message):
    """The master-data dialog (card key ``E``) read the customer it edits."""

    master: Any  # CustomerMaster


# -- the customer search ----------------------------------------------------------------


@dataclass
class CustomersFound(Message):
    query: str
    hits: list  # CustomerHit


# -- the outbox -------------------------------------------------------------------------


@dataclass
class OutboxLoaded(Message):
    page: Any  # mail.OutboxPage
    counts: dict
    smtp: str
    appended: bool


@dataclass
class MailLoaded(Message):
    shown: Any  # mail.OutboxMail


# -- the budget radar -------------------------------------------------------------------


@dataclass
class RadarLoaded(Message):
    horizon: int
    rows: list  # radar.RadarRow
    total: int | None
    appended: bool
    more: bool


# -- a customer's tasks -----------------------------------------------------------------


@dataclass
class TasksLoaded(Message):
    tasks: tuple  # TaskView
    budget: Any  # rules Budget
    expiries: tuple  # dt.date
    today: dt.date


@dataclass
class TaskChanged(Message):
    what: str  # "close" or "delete"
    task: Any  # TaskView


# -- absences ---------------------------------------------------------------------------


@dataclass
class AbsencesLoaded(Message):
    rows: list  # absences.AbsenceView
    today: dt.date


@dataclass
class AbsenceFormReady(Message):
    people: list  # AgentRef
    today: dt.date


@dataclass
class AbsenceDeleted(Message):
    absence: Any  # absences.AbsenceView


# -- agents and policy settings (admin) ------------------------------------------------


@dataclass
class AgentsLoaded(Message):
    rows: list  # agent_admin.AgentView
    can_manage: bool  # the agent at the keyboard is an active admin


@dataclass
class AgentChanged(Message):
    """An admin's change went through (or changed nothing): what to say, whom to show."""

    text: str
    login: str


@dataclass
class SettingsLoaded(Message):
    rows: list  # policy_admin.SettingView
    can_manage: bool


# -- the App ----------------------------------------------------------------------------


@dataclass
class RemindersSent(Message):
    text: str  # what the reminder job did, in German


# -- the ticket screen ------------------------------------------------------------------


@dataclass
class TicketLoaded(Message):
    """The open ticket (``TicketDetail``) and the first page of its conversation."""

    detail: Any  # TicketDetail
    page: Any  # conversation.ConversationPage
    keep: int = -1  # the entry to stand on after a reload (-1: the default place)


@dataclass
class ConversationPageLoaded(Message):
    """A further page of the conversation (scrolled to the end of what is shown)."""

    page: Any  # conversation.ConversationPage


@dataclass
class ReplyFormLoaded(Message):
    form: Any  # replies.ReplyForm
