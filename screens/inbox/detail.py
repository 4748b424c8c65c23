"""The open ticket below the list: header, order or extension block, text, history.

``TicketDetailPane.show`` renders a ``TicketDetail`` the screen received (``DetailLoaded``);
it reads nothing itself. Enter opens the ticket full screen (``screens.ticket``).

The body fills the pane (``inbox.tcss``) while the list has the focus: its size does not
depend on its text, so a new ticket repaints the pane alone, without a layout of the whole
screen (that was most of a cursor key's time, issue 16). A longer text is cut off at the
pane's bottom edge; tab into the pane and the body takes its text's height and scrolls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from deskapp import texts
from deskapp.formatting import datetime_de, money
from deskapp.services.readmodels import TicketRow
from models.enums import EventKind, OrderStatus, Priority, Queue, TicketKind, TicketStatus

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.orders import HeldOrderView
    from deskapp.services.ticket_detail import TicketDetail

NOTHING_SHOWN = "Kein Ticket ausgewählt."
MORE_BELOW = "▼ weiter: Tab"  # the text goes on below the pane's edge; Tab focuses the pane


class TicketDetailPane(VerticalScroll):
    """The ticket pane (``#detail``); its text is one Static (``#detail-body``)."""

    def compose(self) -> ComposeResult:
        yield Static(NOTHING_SHOWN, id="detail-body")

    shown_id: int | None = None  # the ticket whose lines the pane shows (also only its row's)
    _text = NOTHING_SHOWN  # the whole text; unfocused, the body gets only the lines that fit

    def on_mount(self) -> None:
        self.border_title = "Ticket"

    @property
    def text(self) -> str:
        """The pane's whole text, plain (the focused pane scrolls through all of it)."""
        from textual.content import Content

        return Content.from_markup(self._text).plain

    def _set_body(self, text: str) -> None:
        self._text = text
        self._fill_body()

    def _fill_body(self, focused: bool | None = None, *, layout: bool | None = None) -> None:
        """Unfocused, the body's size is the pane's (see the module's docstring): a repaint is
        enough, and it gets only the first lines of the text, as many as it has rows — each
        line is a row at least, the rest would be cut off anyway, and a ticket with a long
        history is not wrapped and laid out in full for every cursor key (issue 16). Focused,
        it is as tall as its whole text, which may have changed."""
        focused = self.has_focus if focused is None else focused
        text, cut = self._text, False
        rows = self.content_size.height
        if not focused and rows > 0:
            lines = text.split("\n", rows)
            if len(lines) > rows:
                text, cut = "\n".join(lines[:rows]), True
        self.query_one("#detail-body", Static).update(text, layout=focused if layout is None else layout)
        self._mark_more(focused, cut)

    def _mark_more(self, focused: bool, cut: bool) -> None:
        """Say on the bottom edge when the text goes on below it (the scrollbar's hint before)."""
        width, height = self.content_size  # the unfocused body's size (no scrollbar then)
        more = not focused and width > 0 and (cut or self._body_height(width) > height)
        self._set_edge("border_subtitle", MORE_BELOW if more else "")

    def _body_height(self, width: int) -> int:
        body = self.query_one("#detail-body", Static)
        return body.visual.get_height(body.styles, width)

    def _set_edge(self, name: str, text: str) -> None:
        """Set ``border_title``/``border_subtitle``, repainting only that edge's line: setting
        it repaints the whole pane, behind the body that is repainted anyway (issue 16)."""
        if getattr(self, name) == text:
            return
        height = self.outer_size.height
        if not text or not self.is_mounted or height < 2:
            setattr(self, name, text)
            return
        self._edge_only = True
        try:
            setattr(self, name, text)  # the descriptor stores it as Textual renders it
        finally:
            self._edge_only = False
        x, y = self.content_offset
        line = 0 if name == "border_title" else height - 1
        self.refresh(Region(-x, line - y, self.outer_size.width, 1))

    _edge_only = False  # the title's descriptor asks for a repaint of the whole pane: not now

    def refresh(self, *regions: Region, **kwargs) -> Self:
        if self._edge_only:
            return self
        return super().refresh(*regions, **kwargs)

    def on_resize(self) -> None:
        self._fill_body()

    def show_text(self, text: str) -> None:
        """A line instead of a ticket (an empty list)."""
        self.shown_id = None
        self._set_body(text)

    def show_row(self, row: TicketRow) -> None:
        """The ticket's head from its list row at once, until its detail is read."""
        self.shown_id = row.id
        self._set_body("\n".join([*head_lines(row), "", "[dim]Wird geladen …[/]"]))
        self._set_edge("border_title", f"Ticket #{row.number}")

    def show(self, detail: TicketDetail, *, login: str) -> None:
        """``detail`` as ``login`` sees it (an extension request says who may decide)."""
        self.shown_id = detail.row.id
        self._set_body("\n".join(detail_lines(detail, login)))
        self._set_edge("border_title", f"Ticket #{detail.row.number}")

    def on_focus(self) -> None:
        # Now as tall as its whole text; the scrollbar says there is more (has_focus is set after this).
        self._fill_body(focused=True, layout=True)

    def on_blur(self) -> None:
        self.scroll_home(animate=False)
        self._fill_body(focused=False, layout=True)  # the pane's size again


def head_lines(row: TicketRow) -> list[str]:
    """The first two lines of the pane: number and subject, where the ticket stands."""
    from ..styles import inert_markup

    return [
        f"[b]#{row.number} {inert_markup(row.subject)}[/]",
        f"{texts.QUEUE[Queue(row.queue)]} · {texts.KIND.get(row.kind, row.kind)} · "
        f"Status [b]{texts.STATUS[TicketStatus(row.status)]}[/] · "
        f"Priorität {texts.PRIORITY[Priority(row.priority)]} · "
        f"Bearbeiter {row.assignee_login or '–'}",
    ]


def detail_lines(detail: TicketDetail, login: str) -> list[str]:
    from ..extension_text import extension_lines

    row = detail.row
    lines = head_lines(row)
    if detail.order is not None:
        lines.extend(order_lines(detail.order, row))
        lines.append("")
    if detail.extension is not None:
        lines.extend(extension_lines(detail.extension, login))
        lines.append("")
    lines += [
        f"Kunde: {escape(row.customer_name) or '–'}"
        + (f" ({detail.customer_number}) — [dim]u öffnet die Karte[/]" if detail.customer_number else ""),
        f"Erstellt {datetime_de(row.created_at)} · geändert {datetime_de(row.updated_at)}",
    ]
    if row.flags:
        lines.append("Kennzeichen: " + ", ".join(texts.FLAG.get(f, f) for f in row.flags))
    if detail.links:
        lines.append("")
        lines.append("[b]Verknüpft[/]")
        lines.extend(f"  • {escape(link.label)}" for link in detail.links)
    lines.append("")
    lines.append(escape(detail.body) or "[dim](kein Text)[/]")
    lines.append("")
    lines.append("[b]Verlauf & Notizen[/]")
    for event in reversed(detail.events):
        lines.append(f"  {datetime_de(event.created_at)} {escape(event.agent_login or 'System')}: {event_text(event)}")
    return lines


def order_name(order: HeldOrderView) -> str:
    if order.process_number:
        return f"Vorgang {order.process_number} ({order.item})"
    return f"Bestellung {order.item}"


def order_lines(order: HeldOrderView, row: TicketRow) -> list[str]:
    """The order block of the detail pane: what, against which limit, why, how old."""
    status = texts.ORDER_STATUS.get(OrderStatus(order.status), order.status)
    lines = ["", f"[b]{escape(order_name(order))} über {money(order.amount)}[/]"]
    if order.status == OrderStatus.HELD:
        state = f"angehalten seit {order.age_label}"
        if order.overdue:
            state += f" · [b red]{texts.FLAG_SYMBOL['overdue']} {texts.FLAG['overdue']}[/]"
    else:
        state = f"[b]{status}[/]"
        if order.decided_at is not None:
            state += f" von {order.decided_by or 'System'} am {datetime_de(order.decided_at)}"
    lines.append(f"  Status: {state}")
    figures = f"  Kreditlimit {money(order.credit_limit)} · Obligo {money(order.exposure)}"
    if order.over_limit > 0:
        figures += f" · über dem Limit [b yellow]{money(order.over_limit)}[/]"
    lines.append(figures)
    if order.error:
        lines.append(f"  Vergabestelle: [red]{escape(order.error)}[/]")
    if row.kind == TicketKind.HELD_ORDER:
        if order.reasons:
            lines.append(f"  [b yellow]{texts.FLAG_SYMBOL['conspicuous']} Auffällig[/] – "
                         "Rücksprache mit dem Kunden angeraten:")
            lines.extend(f"    • {escape(reason)}" for reason in order.reasons)
        else:
            lines.append("  [green]Nicht auffällig[/] – freigeben oder ablehnen, keine Rücksprache nötig.")
    # The keys the order waits for, as the service rules (the same answer greys the footer).
    from deskapp.services.orders import order_action_applies

    if order_action_applies("release", ticket_kind=row.kind, order_status=order.status):
        lines.append("  [dim]a freigeben · x ablehnen · K Kunde kontaktieren[/]")
    elif order_action_applies("retry", ticket_kind=row.kind, order_status=order.status):
        lines.append("  [dim]W wiederholt die Bestellung bei der Vergabestelle[/]")
    return lines


def escape(text: str) -> str:
    """Outside text for the markup of this pane: control characters as placeholders, markup escaped."""
    from ..styles import inert_markup

    return inert_markup(text, keep_newlines=True)


def event_text(event) -> str:
    kind = event.kind
    if kind == EventKind.CREATED:
        return "Ticket angelegt"
    if kind == EventKind.NOTE:
        return "Notiz: " + escape(event.text)
    if kind == EventKind.STATUS:
        old = texts.STATUS.get(TicketStatus(event.old), event.old) if event.old else "–"
        return f"Status {old} → {texts.STATUS.get(TicketStatus(event.new), event.new)}"
    if kind == EventKind.CLAIM:
        return "übernommen"
    if kind == EventKind.ASSIGN:
        return f"zugewiesen: {event.old or '–'} → {event.new or '–'}"
    if kind == EventKind.FLAG:
        if event.new:
            return f"gekennzeichnet ({texts.FLAG.get(event.new, event.new)})"
        return f"Kennzeichen entfernt ({texts.FLAG.get(event.old, event.old)})"
    return escape(event.text)
