"""The ticket, full screen: its head and the whole conversation (docs/rules.md#mail-conversation).

Opened with ``enter`` in the inbox (``app.open_ticket``); ``esc`` goes back to the list,
where the cursor stands where it stood. The conversation is read page by page
(``conversation.conversation``) and shown as a list of collapsed entries (``entries``);
reaching the end of what is shown reads the next page. The inbox's keys work here on this
one ticket: the mixins of ``screens.inbox`` (triage, held orders, extensions, the customer)
are reused, with ``_current_row``/``current`` answering for the ticket shown. Own keys:
``r`` reply (``composer``), ``L`` link a customer (ticket without one), ``d`` save an
attachment (``save``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, ListView, Static

from deskapp import texts
from deskapp.services.readmodels import TicketRow
from models.enums import Priority, Queue, TicketStatus

from ..inbox.customer import CustomerActions
from ..inbox.detail import escape, order_lines
from ..inbox.extensions import ExtensionActions
from ..inbox.held_orders import HeldOrderActions
from ..inbox.triage import TriageActions
from ..footer import DeskFooter
from ..messages import (
    ChangedElsewhere, ConversationPageLoaded, ReplyFormLoaded, TicketLoaded, TicketsChanged, WorkerFailed,
)
from ..workers import WorkerNotices
from .entries import EntryItem

if TYPE_CHECKING:  # annotations only
    from deskapp.services.ticket_detail import TicketDetail

ORDER_ACTIONS = ("release", "reject", "contact", "retry")
DYNAMIC_ACTIONS = ("log_time", "extension", "link_customer", *ORDER_ACTIONS, "approve", "deny", "decide_refused")

MSG_NO_MESSAGE = "Hier ist keine Nachricht ausgewählt."
MSG_NO_ATTACHMENT = "Die ausgewählte Nachricht hat keinen Anhang."
MSG_SAVED = "Anhang gespeichert: {path} ({size})."
MSG_SENT = "Antwort an {to} in den Postausgang gelegt; #{number} ist jetzt {status}."
MSG_LINKED = "#{number} gehört jetzt zu {name}."
MSG_HAS_CUSTOMER = "#{number} hat schon einen Kunden."
LOADING = "Lädt …"


class TicketScreen(WorkerNotices, TriageActions, HeldOrderActions, ExtensionActions, CustomerActions, Screen):
    WRITE_GROUPS = frozenset({"write"})
    DEFAULT_CSS = """
    TicketScreen #ticket-head {
        height: auto; max-height: 45%; overflow-y: auto;
        padding: 0 1; border-bottom: solid $primary 40%;
    }
    TicketScreen #conversation-title { height: 1; padding: 0 1; background: $primary 20%; }
    TicketScreen #conversation { height: 1fr; background: $surface; }
    TicketScreen .entry { padding: 0 1; height: auto; }
    TicketScreen .entry-text { height: auto; }
    TicketScreen .entry.out { border-left: thick $success 60%; }
    TicketScreen .entry.in { border-left: thick $accent 60%; }
    TicketScreen .entry.stranger { border-left: thick $warning; }
    TicketScreen .entry.note {
        border: round $warning 60%; background: $warning 8%; color: $text-muted; margin: 0 2;
    }
    TicketScreen .entry.event { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "back", "Zurück zur Liste", id="ticket.back"),
        Binding("j,down", "move(1)", "Nächste", show=False),
        Binding("k,up", "move(-1)", "Vorige", show=False),
        Binding("enter,space", "toggle", "Auf/Zu", id="ticket.toggle"),
        Binding("r", "reply", "Antworten", id="ticket.reply"),
        Binding("a", "release", "Freigeben", id="release"),
        Binding("x", "reject", "Ablehnen", id="reject"),
        Binding("a", "approve", "Genehmigen", id="extension.approve"),
        Binding("x", "deny", "Antrag ablehnen", id="extension.deny"),
        Binding("a,x", "decide_refused", "", show=False),
        Binding("K", "contact", "Kunde kontaktieren", id="contact"),
        Binding("W", "retry", "Wiederholen", id="retry"),
        Binding("c", "claim", "Übernehmen", id="claim"),
        Binding("A", "assign", "Zuweisen", id="assign", show=False),
        Binding("s", "status", "Status", id="status"),
        Binding("C", "close", "Schließen", id="close"),
        Binding("n", "note", "Notiz", id="note"),
        Binding("F", "flag", "★ Merken", id="flag", show=False),
        Binding("u", "customer", "Kunde", id="customer"),
        Binding("L", "link_customer", "Kunde zuordnen", id="ticket.link"),
        Binding("d", "save_attachment", "Anhang speichern", id="ticket.attachment"),
        Binding("t", "log_time", "Zeit erfassen", id="log_time"),
        Binding("e", "extension", "Verlängerung beantragen", id="extension.request", show=False),
        Binding("G,end", "last", "Ende", show=False),
    ]

    def __init__(self, row: TicketRow) -> None:
        super().__init__()
        self.row = row
        self.current: TicketDetail | None = None
        self.marked: dict = {}  # the triage mixin acts on marked tickets; here there are none
        self.total = 0
        self._loaded = 0  # entries read so far (the next page starts here)
        self._paging = False
        self._keep = -1
        self._bindings_state = None
        self._token = None  # conversation.change_token of what is shown

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(self._head_text(), id="ticket-head")
            yield Static(LOADING, id="conversation-title")
            yield ListView(id="conversation")
        yield DeskFooter()  # the keys that fit, help and palette always (a narrow terminal cut them off)

    def on_mount(self) -> None:
        self.query_one("#conversation", ListView).focus()
        self._load()
        if getattr(self.app, "poll", True):
            self.set_interval(self.app.policy.inbox_poll_seconds, self.check_for_changes)

    # ------------------------------------------------------------------ kept current

    def check_for_changes(self) -> None:
        """A mail that arrives, another desk's note or claim: shown without a key. Only while
        this screen is on top (the composer above it keeps its text steady)."""
        if self._token is not None and self.is_current:
            self._poll()

    def on_screen_resume(self) -> None:
        self.check_for_changes()

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        from deskapp.services import conversation

        ticket_id = self.row.id
        if self.app.read(lambda s: conversation.change_token(s, ticket_id)) != self._token:
            self.post_message(ChangedElsewhere())

    @on(ChangedElsewhere)
    def _changed_elsewhere(self, _event: ChangedElsewhere) -> None:
        self.reload()

    # ------------------------------------------------------------------ the mixins' view of it

    def _current_row(self) -> TicketRow:
        return self.current.row if self.current is not None else self.row

    def _update_title(self) -> None:  # the triage mixin's, for the inbox's list title
        pass

    def reload(self, *args, **kwargs) -> None:
        """Read the ticket again (after a change), keeping the entry the cursor is on."""
        view = self.query_one("#conversation", ListView)
        self._keep = view.index if view.index is not None else -1
        self._load(max(self._loaded, self._page_size()), keep=self._keep)

    # ------------------------------------------------------------------ loading

    def _page_size(self) -> int:
        return self.app.policy.conversation_page_size

    @work(thread=True, exclusive=True, group="ticket", exit_on_error=False)
    def _load(self, limit: int | None = None, keep: int = -1) -> None:
        from deskapp.services import conversation, ticket_detail

        app = self.app
        now, policy, viewer = app.now(), app.policy, app.agent
        ticket_id = self.row.id
        size = limit or self._page_size()

        def read(session):
            token = conversation.change_token(session, ticket_id)
            detail = ticket_detail.detail(session, ticket_id, now=now, policy=policy, viewer=viewer)
            return detail, conversation.conversation(session, ticket_id, offset=0, limit=size), token

        detail, page, token = app.read(read)
        self.post_message(TicketLoaded(detail, page, keep, token))

    @work(thread=True, exclusive=True, group="conversation", exit_on_error=False)
    def _load_more(self, offset: int) -> None:
        from deskapp.services import conversation

        size, ticket_id = self._page_size(), self.row.id
        page = self.app.read(lambda s: conversation.conversation(s, ticket_id, offset=offset, limit=size))
        self.post_message(ConversationPageLoaded(page))

    @on(TicketLoaded)
    async def _show(self, event: TicketLoaded) -> None:
        self._token = event.token
        self.current = event.detail
        self.row = event.detail.row
        page = event.page
        self.total = page.total
        self._loaded = len(page.entries)
        self._paging = False
        self.query_one("#ticket-head", Static).update(self._head_text())
        view = self.query_one("#conversation", ListView)
        if view.children:  # a reload; the first load has nothing to remove (and no round trip to wait for)
            await view.clear()
        everything = self._loaded >= self.total
        items = []
        first_message = next((i for i, e in enumerate(page.entries) if hasattr(e, "direction")), None)
        last_message = max((i for i, e in enumerate(page.entries) if hasattr(e, "direction")), default=None)
        for i, entry in enumerate(page.entries):
            expanded = i == first_message or (everything and i == last_message)
            items.append(EntryItem(entry, expanded=expanded))
        await view.extend(items)
        if items:
            if event.keep >= 0:
                target = min(event.keep, len(items) - 1)
            elif everything and last_message is not None:
                target = last_message
            else:
                target = 0
            view.index = target
            self.call_after_refresh(view.scroll_to_widget, items[target], animate=False)
        self._update_conversation_title()
        self._refresh_bindings_if_changed()

    @on(ConversationPageLoaded)
    def _more(self, event: ConversationPageLoaded) -> None:
        self._paging = False
        page = event.page
        if page.offset != self._loaded:
            return  # a reload meanwhile
        self.total = page.total
        self._loaded += len(page.entries)
        self.query_one("#conversation", ListView).extend([EntryItem(e) for e in page.entries])
        self._update_conversation_title()

    def _update_conversation_title(self) -> None:
        shown = f"{self._loaded} von {self.total}" if self._loaded < self.total else f"{self.total}"
        more = " · weiter unten wird nachgeladen" if self._loaded < self.total else ""
        self.query_one("#conversation-title", Static).update(
            f"[b]Verlauf[/] · {shown} Einträge{more} · [dim]Enter öffnet/schließt eine Nachricht[/]"
        )

    def _head_text(self) -> str:
        row = self.row
        lines = [
            f"[b]#{row.number} {escape(row.subject)}[/]",
            f"{texts.QUEUE[Queue(row.queue)]} · {texts.KIND.get(row.kind, row.kind)} · "
            f"Status [b]{texts.STATUS[TicketStatus(row.status)]}[/] · "
            f"Priorität {texts.PRIORITY[Priority(row.priority)]} · Bearbeiter {row.assignee_login or '–'}",
        ]
        detail = self.current
        if row.customer_id is not None:
            number = f" ({detail.customer_number})" if detail is not None and detail.customer_number else ""
            lines.append(f"Kunde: {escape(row.customer_name)}{number} — [dim]u öffnet die Karte[/]")
        else:
            lines.append("Kunde: [b $warning]keiner[/] — [dim]L ordnet einen Kunden zu[/]")
        if detail is not None and detail.order is not None:
            lines.extend(order_lines(detail.order, row))
        if detail is not None and detail.extension is not None:
            from ..extension_text import extension_lines
            lines.append("")
            lines.extend(extension_lines(detail.extension, self.app.agent.login))
        return "\n".join(lines)

    # ------------------------------------------------------------------ moving

    def _selected(self) -> EntryItem | None:
        view = self.query_one("#conversation", ListView)
        item = view.highlighted_child
        return item if isinstance(item, EntryItem) else None

    def action_move(self, step: int) -> None:
        view = self.query_one("#conversation", ListView)
        if step > 0:
            view.action_cursor_down()
        else:
            view.action_cursor_up()

    def action_last(self) -> None:
        view = self.query_one("#conversation", ListView)
        if len(view.children):
            view.index = len(view.children) - 1

    @on(ListView.Highlighted, "#conversation")
    def _highlighted(self, event: ListView.Highlighted) -> None:
        view = self.query_one("#conversation", ListView)
        near_end = view.index is not None and view.index >= len(view.children) - 3
        if near_end and self._loaded < self.total and not self._paging:
            self._paging = True
            self._load_more(self._loaded)

    @on(ListView.Selected, "#conversation")
    def _selected_entry(self, event: ListView.Selected) -> None:
        if isinstance(event.item, EntryItem):
            event.item.toggle()

    def action_toggle(self) -> None:
        item = self._selected()
        if item is not None:
            item.toggle()

    def action_back(self) -> None:
        self.dismiss(self.row.id)

    # ------------------------------------------------------------------ changes

    @on(TicketsChanged)
    def _tickets_changed(self, event: TicketsChanged) -> None:
        if event.done:
            self.notify(event.done, timeout=3)
        for message in event.refused[:5]:
            self.notify(message, severity="warning", timeout=8)
        self.reload()

    @on(WorkerFailed)
    def _worker_failed(self, event: WorkerFailed) -> None:
        if event.group == "conversation":
            self._paging = False
        if event.refused:
            self.reload()

    # ------------------------------------------------------------------ reply

    def action_reply(self) -> None:
        item = self._selected()
        answering = item.entry.id if item is not None and item.is_message else None
        self._open_composer(answering)

    @work(thread=True, exclusive=True, group="dialog", exit_on_error=False)
    def _open_composer(self, answering: int | None) -> None:
        from deskapp.services import replies

        app, ticket_id = self.app, self.row.id
        form = app.read(lambda s: replies.compose(s, app.agent, ticket_id, answering_id=answering))
        self.post_message(ReplyFormLoaded(form))

    @on(ReplyFormLoaded)
    def _show_composer(self, event: ReplyFormLoaded) -> None:
        from .composer import ReplyComposer

        def done(result) -> None:
            if result is not None:
                status = texts.STATUS.get(TicketStatus(result.status), result.status)
                self.notify(MSG_SENT.format(to=result.to, number=result.ticket_number, status=status), timeout=5)
                self.call_after_refresh(self.reload)

        self.app.push_screen(ReplyComposer(event.form), done)

    # ------------------------------------------------------------------ link a customer

    def action_link_customer(self) -> None:
        from ..customer_search import CustomerSearchScreen

        row = self._current_row()
        if row.customer_id is not None:
            self.notify(MSG_HAS_CUSTOMER.format(number=row.number), severity="warning")
            return

        def chosen(customer_id) -> None:
            if customer_id is not None:
                self._link(customer_id)

        self.app.push_screen(CustomerSearchScreen(), chosen)

    @work(thread=True, group="write", exit_on_error=False)
    def _link(self, customer_id) -> None:
        from deskapp.services import replies

        app, ticket_id = self.app, self.row.id
        row = app.write(lambda s: replies.link_customer(s, app.agent, ticket_id, customer_id=customer_id,
                                                        now=app.now()))
        self.post_message(TicketsChanged(MSG_LINKED.format(number=row.number, name=row.customer_name)))

    # ------------------------------------------------------------------ attachments

    def action_save_attachment(self) -> None:
        from ..dialogs.choice import ChoiceDialog
        from .entries import size_label

        item = self._selected()
        if item is None or not item.is_message:
            self.notify(MSG_NO_MESSAGE, severity="warning")
            return
        kept = [a for a in item.entry.attachments if a.kept]
        if not kept:
            self.notify(MSG_NO_ATTACHMENT, severity="warning")
            return
        if len(kept) == 1:
            self._ask_path(kept[0])
            return
        by_index = {str(a.index): a for a in kept}
        choices = [(str(a.index), f"{a.index}. {a.filename} ({size_label(a.size)})") for a in kept]
        self.app.push_screen(ChoiceDialog("Welchen Anhang speichern?", choices),
                             lambda value: self._ask_path(by_index[value]) if value else None)

    def _ask_path(self, attachment) -> None:
        from .save import SaveAttachmentDialog

        def chosen(path) -> None:
            if path is not None:
                self._save(attachment.index, path)

        self.app.push_screen(SaveAttachmentDialog(attachment.filename, attachment.index), chosen)

    @work(thread=True, group="write", exit_on_error=False)
    def _save(self, index: int, path) -> None:
        from deskapp.services import conversation

        from .entries import size_label

        ticket_id = self.row.id
        data = self.app.read(lambda s: conversation.attachment(s, ticket_id, index))
        with open(path, "xb") as out:  # never over an existing file (the dialog checked; a race says so)
            out.write(data.data)
        self.app.call_from_thread(self.notify, MSG_SAVED.format(path=path, size=size_label(len(data.data))),
                                  timeout=6)

    # ------------------------------------------------------------------ keys

    def _refresh_bindings_if_changed(self) -> None:
        state = tuple(self.check_action(action, ()) for action in DYNAMIC_ACTIONS)
        if state != self._bindings_state:
            self._bindings_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        row = self._current_row()
        if action in ORDER_ACTIONS:
            return self._order_shown(action) is not None
        if action in ("approve", "deny", "decide_refused"):
            return self._extension_action_state(action)
        if action == "log_time":
            return None if self.app.agent.is_system or row.customer_id is None else True
        if action == "extension":
            return True if row.customer_id is not None else None
        if action == "link_customer":
            return True if row.customer_id is None else False
        return True


__all__ = ["TicketScreen"]
