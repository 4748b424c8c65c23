"""The ticket, full screen: its head and the whole conversation (docs/rules.md#mail-conversation).

Opened with ``enter`` in the inbox (``app.open_ticket`` → ``open_ticket``: the ticket and
the first page of its conversation are read in a thread first, then the screen is pushed
with them — head, keys and entries are there for its first paint, the footer is built
once, nothing is laid out twice); ``esc`` goes back to the list, where the cursor stands
where it stood. The conversation is read page by page
(``conversation.conversation``) and shown as a list of collapsed entries (``entries``);
reaching the end of what is shown reads the next page. The inbox's keys work here on this
one ticket: the mixins of ``screens.inbox`` (triage, held orders, extensions, the customer)
are reused, with ``_current_row``/``current`` answering for the ticket shown. Own keys:
``r`` reply (``composer``), ``L`` link a customer (ticket without one), ``d`` save an
attachment (``save``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
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
from ..workers import WorkerNotices, read_then_push
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


def read_ticket(app, ticket_id: int, size: int) -> tuple[Any, Any, Any]:
    """(detail, first ``size`` entries of the conversation, change token) in one read."""
    from deskapp.services import conversation, ticket_detail

    now, policy, viewer = app.now(), app.policy, app.agent

    def read(session):
        token = conversation.change_token(session, ticket_id)
        detail = ticket_detail.detail(session, ticket_id, now=now, policy=policy, viewer=viewer)
        return detail, conversation.conversation(session, ticket_id, offset=0, limit=size), token

    return app.read(read)


def open_ticket(app, row: TicketRow, push: Callable[["TicketScreen"], object]) -> None:
    """Read the ticket in a thread worker, then ``push`` the screen with it, filled
    (``screens.workers.read_then_push``: a failed read pushes it empty to read itself)."""
    read_then_push(app, lambda: read_ticket(app, row.id, app.policy.conversation_page_size),
                   lambda loaded: TicketScreen(row, loaded=loaded), push, group="open-ticket")


class ConversationList(ListView, inherit_bindings=False):
    """The conversation's list: Textual's ``ListView`` without its own ``enter`` (the
    screen's ``enter``/``space`` open and close the entry under the cursor, as a click
    does). Its ``enter`` shadowed the screen's when the list got the focus, so the footer's
    keys changed with the first focus and the footer was built and laid out twice. Nor its
    scroll-only ``home``/``end``: the screen's move the cursor to the first / last entry
    (and ``end`` loads the next entries, as ``G`` does)."""

    BINDINGS = [b for b in ScrollableContainer.BINDINGS if b.key not in ("up", "down", "home", "end")] + [
        b for b in ListView.BINDINGS if b.key != "enter"
    ]


class TicketScreen(WorkerNotices, TriageActions, HeldOrderActions, ExtensionActions, CustomerActions, Screen):
    WRITE_GROUPS = frozenset({"write"})
    DEFAULT_CSS = """
    TicketScreen #ticket-head {
        height: auto; max-height: 45%; overflow-y: auto;
        padding: 0 1; border-bottom: solid $primary 40%;
    }
    TicketScreen #conversation-title { height: 1; padding: 0 1; background: $primary 20%; }
    TicketScreen #conversation { height: 1fr; background: $surface; scrollbar-gutter: stable; }
    TicketScreen .entry { padding: 0 1; height: auto; }
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
        Binding("g,home", "first", "Anfang", show=False),
        Binding("G,end", "last", "Ende", show=False),
    ]

    def __init__(self, row: TicketRow, *, loaded: tuple | None = None) -> None:
        """``loaded``: ``read_ticket``'s (detail, page, token), read before the push
        (``open_ticket``); without it the screen reads them itself once mounted."""
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
        self._first: tuple[list, int] | None = None  # entries read before the push, and the one to stand on
        self._resized_once = False
        if loaded is not None:
            detail, page, token = loaded
            self._take(detail, page, token)
            self._first = self._items(page, -1)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(self._head_text(), id="ticket-head")
            yield Static(LOADING, id="conversation-title")
            yield ConversationList(id="conversation")
        # The keys that fit, help and palette always (a narrow terminal cut them off); filled,
        # the screen knows its keys now and the footer is laid out once.
        yield DeskFooter(eager=self.current is not None)

    def _on_resize(self, event: events.Resize) -> None:
        """Textual answers the first layout of a pushed screen with a Resize to the size it
        was just laid out for, and ``Screen._on_resize`` lays the screen and the inbox below
        out again for it: a good part of an open's CPU time, for nothing. That echo is not
        passed on (``prevent_default`` ends Textual's walk through the base classes'
        handlers); a real resize (the terminal's) comes while the screen still has its old
        size, and later ones all go through."""
        if not self._resized_once and event.size == self.size and self.is_current:
            event.prevent_default()
        self._resized_once = True

    def on_mount(self) -> None:
        self.query_one("#conversation", ListView).focus()
        if self._first is None:
            self._load()
        if getattr(self.app, "poll", True):
            self.set_interval(self.app.policy.inbox_poll_seconds, self.check_for_changes)

    async def _fill(self) -> None:
        """The entries read before the push, mounted once the screen is up: Textual styles a
        pushed screen's whole tree once more as it resumes, so entries composed with the
        screen would be styled twice; mounted now, once — before the first paint."""
        items, target = self._first
        self._first = None
        view = self.query_one("#conversation", ListView)
        await view.extend(items)
        if items:
            view.index = target
            if target > 0:
                self.call_after_refresh(view.scroll_to_widget, items[target], animate=False)
        self._update_conversation_title()
        self._bindings_state = self._binding_state()

    # ------------------------------------------------------------------ kept current

    def check_for_changes(self) -> None:
        """A mail that arrives, another desk's note or claim: shown without a key. Only while
        this screen is on top (the composer above it keeps its text steady)."""
        if self._token is not None and self.is_current:
            self._poll()

    def on_screen_resume(self) -> None:
        if self._first is not None:  # just read: nothing to look for yet
            self.call_later(self._fill)
            return
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
        detail, page, token = read_ticket(self.app, self.row.id, limit or self._page_size())
        self.post_message(TicketLoaded(detail, page, keep, token))

    @work(thread=True, exclusive=True, group="conversation", exit_on_error=False)
    def _load_more(self, offset: int) -> None:
        from deskapp.services import conversation

        size, ticket_id = self._page_size(), self.row.id
        page = self.app.read(lambda s: conversation.conversation(s, ticket_id, offset=offset, limit=size))
        self.post_message(ConversationPageLoaded(page))

    def _take(self, detail, page, token) -> None:
        self._token = token
        self.current = detail
        self.row = detail.row
        self.total = page.total
        self._loaded = len(page.entries)
        self._paging = False

    def _items(self, page, keep: int) -> tuple[list[EntryItem], int]:
        """The entries of a first page, and the one the cursor stands on: ``keep``, else the
        newest message when the page holds everything, else the first entry."""
        everything = self._loaded >= self.total
        messages = [i for i, e in enumerate(page.entries) if hasattr(e, "direction")]
        first_message = messages[0] if messages else None
        last_message = messages[-1] if messages else None
        items = [EntryItem(entry, expanded=i == first_message or (everything and i == last_message))
                 for i, entry in enumerate(page.entries)]
        if keep >= 0:
            target = min(keep, len(items) - 1)
        elif everything and last_message is not None:
            target = last_message
        else:
            target = 0
        return items, max(target, 0)

    @on(TicketLoaded)
    async def _show(self, event: TicketLoaded) -> None:
        self._take(event.detail, event.page, event.token)
        self.query_one("#ticket-head", Static).update(self._head_text())
        view = self.query_one("#conversation", ListView)
        if view.children:  # a reload; the first load has nothing to remove (and no round trip to wait for)
            await view.clear()
        items, target = self._items(event.page, event.keep)
        await view.extend(items)
        if items:
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
        self.query_one("#conversation-title", Static).update(self._title_text())

    def _title_text(self) -> str:
        shown = f"{self._loaded} von {self.total}" if self._loaded < self.total else f"{self.total}"
        more = " · weiter unten wird nachgeladen" if self._loaded < self.total else ""
        return f"[b]Verlauf[/] · {shown} Einträge{more} · [dim]Enter öffnet/schließt eine Nachricht[/]"

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

    def action_first(self) -> None:
        view = self.query_one("#conversation", ListView)
        if len(view.children):
            view.index = 0

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
            self._toggle(event.item)

    def action_toggle(self) -> None:
        item = self._selected()
        if item is not None:
            self._toggle(item)

    def _toggle(self, item: EntryItem) -> None:
        """Open or close the entry; an opened message is scrolled into view (its body may
        reach below the bottom of the list)."""
        item.toggle()
        if item.expanded:
            view = self.query_one("#conversation", ListView)
            self.call_after_refresh(view.scroll_to_widget, item, animate=False)

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

    def _binding_state(self) -> tuple:
        return tuple(self.check_action(action, ()) for action in DYNAMIC_ACTIONS)

    def _refresh_bindings_if_changed(self) -> None:
        state = self._binding_state()
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


__all__ = ["TicketScreen", "open_ticket", "read_ticket"]
