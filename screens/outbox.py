"""The outbox (Postausgang): every mail the desk queued for customers, newest first.

Without an SMTP server this is where mail ends; with one, ``deskapp mail send`` delivers
it and the list shows what went out, what waits and why a mail failed. Paged by key
(``services.mail.outbox_page``): moving past the last row fetches the next page. The
database is read in thread workers only (see screens/messages.py for the threading rules).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from deskapp import texts
from deskapp.formatting import datetime_de
from deskapp.services import mail
from deskapp.services.errors import DeskError

from .messages import MailLoaded, OutboxLoaded, WorkerFailed
from .styles import inert_cell
from .workers import WorkerNotices

# The filter cycles through these (None = every mail).
FILTERS: tuple[str | None, ...] = (None, "queued", "uncertain", "failed", "sent")
FILTER_LABEL = {None: "alle", **{key: texts.MAIL_STATUS[key] for key in FILTERS if key}}
STATUS_STYLE = {"queued": "bold yellow", "sending": "cyan", "sent": "green", "failed": "bold red",
                "uncertain": "bold magenta"}
NO_SMTP = "Kein SMTP-Server eingerichtet – der Postausgang ist die Endstation."
WITH_SMTP = "SMTP-Server {server}: »deskapp mail send« stellt die Warteschlange zu."
EMPTY = "Der Postausgang ist leer."
EMPTY_FILTERED = "Keine Mails mit Status „{status}“."


COLUMNS = (("Status", "status"), ("Erstellt", "created"), ("An", "to"), ("Betreff", "subject"),
           ("Vers.", "attempts"), ("Letzter Fehler", "error"))


def status_label(row: mail.OutboxRow, *, long: bool = False) -> str:
    """The German state of a mail; a sent one that had an attempt without answer may be there twice."""
    if row.status == "sent" and row.uncertain_count:
        return texts.MAIL_SENT_MAYBE_TWICE_LONG if long else texts.MAIL_SENT_MAYBE_TWICE
    return texts.MAIL_STATUS.get(row.status, row.status)


def column_widths(screen_width: int) -> tuple[int, ...]:
    """Widths of ``COLUMNS``: the subject gets the most of what the fixed columns leave."""
    status, created, attempts = 14, 14, 5  # "fehlgeschlagen", "23.11.26 03:34"
    rest = max(0, screen_width - status - created - attempts - 2 * len(COLUMNS) - 5)  # padding, scrollbar
    to = max(16, min(30, rest * 26 // 100))
    error = max(14, min(40, rest * 18 // 100))
    subject = max(16, rest - to - error)
    return status, created, to, subject, attempts, error


class MailTable(DataTable):
    """The list; moving down past the last row asks the screen for older mails."""

    BINDINGS = [
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    class NeedMore(Message):
        pass

    def _at_end(self) -> bool:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.NeedMore())
            return True
        return False

    def action_cursor_down(self) -> None:
        if not self._at_end():
            super().action_cursor_down()

    def action_page_down(self) -> None:
        if not self._at_end():
            super().action_page_down()


class MailScreen(ModalScreen[None]):
    """One mail as the customer gets it."""

    DEFAULT_CSS = """
    MailScreen { align: center middle; }
    MailScreen > Vertical {
        width: 90; height: 80%; border: thick $accent; background: $panel; padding: 1 2;
    }
    MailScreen #mail-head { margin-bottom: 1; }
    MailScreen .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Schließen"),
        Binding("enter", "close", "Schließen", show=False),
    ]

    def __init__(self, shown: mail.OutboxMail) -> None:
        super().__init__()
        self.shown = shown

    def compose(self) -> ComposeResult:
        row = self.shown.row
        head = Text()
        head.append(row.subject + "\n", style="bold")
        head.append(f"An: {row.to_addr}")
        if row.customer_name:
            head.append(f" ({row.customer_name})")
        head.append(f"\nErstellt: {datetime_de(row.created_at)} · Status: {status_label(row, long=True)}")
        if row.status == "sent" and row.sent_at is not None:
            head.append(f" am {datetime_de(row.sent_at)}")
        head.append(f" · Versuche: {row.attempts}")
        if row.ticket_number is not None:
            head.append(f" · Ticket #{row.ticket_number}")
        head.append(f"\nMessage-ID: {row.message_id}")
        if row.smtp_reply:
            head.append(f"\nAntwort des Servers: {row.smtp_reply}")
        if row.last_error:
            head.append(f"\nLetzter Fehler: {row.last_error}", style="red")
        with Vertical():
            yield Static(head, id="mail-head")
            with VerticalScroll():
                yield Static(Text(self.shown.body), id="mail-body")
            yield Static("Esc oder Enter schließt.", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)


class OutboxScreen(WorkerNotices, Screen):
    HELP_TITLE = "Postausgang"
    DEFAULT_CSS = """
    OutboxScreen #outbox-title { padding: 0 1; background: $boost; text-style: bold; }
    OutboxScreen #outbox-smtp { padding: 0 1; color: $text-muted; }
    OutboxScreen #outbox-empty { padding: 1 2; color: $text-muted; }
    OutboxScreen MailTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="outbox.back"),
        Binding("enter", "show_mail", "Anzeigen", id="outbox.show"),
        Binding("f", "cycle_filter", "Filter", id="outbox.filter"),
        Binding("r", "refresh", "Aktualisieren", id="outbox.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.rows: list[mail.OutboxRow] = []
        self.has_more = False
        self.counts: dict[str, int] = {}
        self._fetching = False
        self._widths: tuple[int, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Postausgang", id="outbox-title")
        yield Static("", id="outbox-smtp")
        yield MailTable(id="mails", cursor_type="row", zebra_stripes=True)
        yield Static("", id="outbox-empty")
        yield Footer()

    def on_mount(self) -> None:
        self._build_columns()
        self.query_one(MailTable).focus()
        self.reload()

    def _build_columns(self) -> None:
        table = self.query_one(MailTable)
        self._widths = column_widths(self.app.size.width)
        table.clear(columns=True)
        for (label, key), width in zip(COLUMNS, self._widths):
            table.add_column(label, key=key, width=width)
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.id))

    def on_resize(self, event) -> None:
        if self._widths and self._widths != column_widths(self.app.size.width):
            keep = self.query_one(MailTable).cursor_row
            self._build_columns()
            table = self.query_one(MailTable)
            if table.row_count:
                table.move_cursor(row=min(keep, table.row_count - 1), animate=False)

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        self.rows = []
        self.has_more = False
        self._load(before_id=None)

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def _load(self, before_id: int | None) -> None:
        app = self.app
        status, size = self.status, app.policy.inbox_page_size

        def fetch(session):
            return (mail.outbox_page(session, status=status, limit=size, before_id=before_id),
                    mail.outbox_counts(session))

        page, counts = app.read(fetch)
        try:
            config = mail.load_smtp_config()
            smtp = WITH_SMTP.format(server=config.server) if config else NO_SMTP
        except DeskError as exc:
            smtp = exc.message
        if not get_current_worker().is_cancelled:
            self.post_message(OutboxLoaded(page, counts, smtp, appended=before_id is not None))

    @on(OutboxLoaded)
    def _show(self, event: OutboxLoaded) -> None:
        page, counts, smtp, appended = event.page, event.counts, event.smtp, event.appended
        self._fetching = False
        table = self.query_one(MailTable)
        if not appended:
            self.rows = []
            table.clear()
        self.rows.extend(page.rows)
        self.has_more = page.has_more
        self.counts = counts
        for row in page.rows:
            table.add_row(*self._cells(row), key=str(row.id))
        if appended and page.rows:
            table.move_cursor(row=len(self.rows) - len(page.rows), animate=False)
        self.query_one("#outbox-smtp", Static).update(smtp)
        self._update_title()

    def _cells(self, row: mail.OutboxRow) -> list:
        error = row.last_error.splitlines()[0] if row.last_error else ""
        return [
            Text(status_label(row), style=STATUS_STYLE.get(row.status, "")),
            datetime_de(row.created_at),
            inert_cell(row.to_addr),
            inert_cell(row.subject),
            Text(str(row.attempts), justify="right"),
            Text(error, style="red") if error else "",
        ]

    def _update_title(self) -> None:
        counts = self.counts
        parts = ["Postausgang", f"{counts.get('queued', 0)} in der Warteschlange"]
        if counts.get("sending"):  # only while a delivery runs (or one was cut off)
            parts.append(f"{counts['sending']} wird gesendet")
        if counts.get("uncertain"):
            parts.append(f"{counts['uncertain']} unklar")
        if counts.get("failed"):
            parts.append(f"{counts['failed']} fehlgeschlagen")
        parts += [f"{counts.get('sent', 0)} gesendet", f"Filter: {FILTER_LABEL[self.status]}"]
        shown = f"{len(self.rows)}{'+' if self.has_more else ''} angezeigt"
        self.query_one("#outbox-title", Static).update(" · ".join(parts + [shown]))
        empty = self.query_one("#outbox-empty", Static)
        if self.rows:
            empty.update("")
            empty.display = False
        else:
            empty.display = True
            status = FILTER_LABEL[self.status]
            empty.update(EMPTY if self.status is None else EMPTY_FILTERED.format(status=status))

    @work(thread=True, exclusive=True, group="mail", exit_on_error=False)
    def _open(self, mail_id: int) -> None:
        shown = self.app.read(lambda s: mail.outbox_mail(s, mail_id))
        self.post_message(MailLoaded(shown))

    @on(MailLoaded)
    def _show_mail(self, event: MailLoaded) -> None:
        self.app.push_screen(MailScreen(event.shown))

    # ------------------------------------------------------------------ events

    @on(MailTable.NeedMore)
    def _need_more(self, _event) -> None:
        if self.has_more and self.rows and not self._fetching:
            self._fetching = True  # one page at a time, however fast the key repeats
            self._load(before_id=self.rows[-1].id)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_show_mail()

    @on(WorkerFailed)
    def _failed(self, _event: WorkerFailed) -> None:
        self._fetching = False  # the next page may be asked for again

    # ------------------------------------------------------------------ actions

    def action_show_mail(self) -> None:
        table = self.query_one(MailTable)
        if not self.rows or not table.row_count:
            return
        self._open(self.rows[min(table.cursor_row, len(self.rows) - 1)].id)

    def action_cycle_filter(self) -> None:
        self.status = FILTERS[(FILTERS.index(self.status) + 1) % len(FILTERS)]
        self.reload()

    def action_refresh(self) -> None:
        self.reload()
        self.notify("Aktualisiert.", timeout=1.5)

    def action_back(self) -> None:
        self.app.pop_screen()
