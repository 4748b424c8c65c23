"""One line of the conversation: a message (in or out), an internal note, a system event.

Messages start collapsed (a head line and the first line of the text) and expand on
``enter``: only the bodies an agent opens are laid out, so a thread of hundreds of
messages opens as fast as one of three (docs/rules.md#mail-conversation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import ListItem

from deskapp.formatting import datetime_de
from models.enums import EventKind, MailDirection

from ..inbox.detail import event_text
from ..styles import inert_markup as escape

if TYPE_CHECKING:  # annotations only
    from deskapp.services.conversation import EventView, MessageView

NOT_CUSTOMER = "⚠ Absender ist nicht der Kunde"
NOTE_TITLE = "Interne Notiz — wird nicht gesendet"
AUTO_REASON = {  # rules.mail_parse's reasons
    "auto_submitted": "automatische Mail",
    "autoreply": "Abwesenheitsnotiz",
    "precedence": "Massen- oder Listenmail",
    "bounce": "Unzustellbarkeitsbericht",
}
PREVIEW_CHARS = 160


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def _preview(text: str) -> str:
    """The first line that says something (not a quote, not empty), shortened."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not line.startswith(">"):
            return line if len(line) <= PREVIEW_CHARS else line[:PREVIEW_CHARS - 1] + "…"
    return ""


def message_head(m: MessageView) -> str:
    when = datetime_de(m.sent_at or m.created_at)
    if m.direction == MailDirection.OUT:
        head = f"[b]{when}[/] · [b $success]E-Mail der Desk[/] an {escape(m.to)}"
    else:
        who = f"{m.from_name} <{m.from_addr}>" if m.from_name and m.from_addr else (m.from_addr or m.from_name or "?")
        head = f"[b]{when}[/] · [b]{escape(who)}[/]"
    marks = []
    if m.is_auto:
        marks.append(f"[dim]{AUTO_REASON.get(m.auto_reason, 'automatisch')}[/]")
    elif m.direction == MailDirection.IN and not m.sender_is_customer:
        marks.append(f"[b $warning]{NOT_CUSTOMER}[/]")
    if m.unreadable:
        marks.append("[b $error]nicht lesbar[/]")
    if m.attachments:
        marks.append(f"📎 {len(m.attachments)}")
    return head + ("  " + " · ".join(marks) if marks else "")


def message_lines(m: MessageView, *, expanded: bool) -> list[str]:
    arrow = "▾" if expanded else "▸"
    lines = [f"{arrow} {message_head(m)}"]
    if not expanded:
        preview = _preview(m.text)
        subject = escape(m.subject)
        lines.append(f"  [dim]{subject}[/]" + (f" — {escape(preview)}" if preview else ""))
        return lines
    lines.append(f"  [dim]Betreff:[/] {escape(m.subject)}")
    if m.direction == MailDirection.IN and m.to:
        lines.append(f"  [dim]An:[/] {escape(m.to)}" + (f"  [dim]Cc:[/] {escape(m.cc)}" if m.cc else ""))
    for note in m.notes:
        lines.append(f"  [i $warning]{escape(note)}[/]")
    lines.append("")
    body = m.text.rstrip() or "(kein Text)"
    for line in body.splitlines():
        lines.append(f"  [dim]{escape(line)}[/]" if line.startswith(">") else f"  {escape(line)}")
    if m.attachments:
        lines.append("")
        for a in m.attachments:
            kept = "" if a.kept else " [dim](nicht gespeichert)[/]"
            lines.append(f"  📎 {a.index}. {escape(a.filename or '(ohne Namen)')} · {escape(a.content_type)} · "
                         f"{size_label(a.size)}{kept}")
        lines.append("  [dim]d speichert einen Anhang in eine Datei[/]")
    return lines


def event_lines(e: EventView) -> list[str]:
    when = datetime_de(e.created_at)
    who = e.agent_login or "System"
    if e.kind == EventKind.NOTE:
        return [f"[b]{NOTE_TITLE}[/] · {escape(who)} · {when}", escape(e.text)]
    text = event_text(e)
    if e.kind == EventKind.STATUS and e.text:  # the reason, e.g. "Antwort des Kunden per E-Mail"
        text += f" — {escape(e.text)}"
    return [f"[dim]{when} · {escape(who)}: {text}[/]"]


class EntryItem(ListItem):
    """One entry; ``toggle`` opens or closes a message.

    The item draws its text itself (no ``Static`` inside): one widget per entry, not two,
    to mount, style and lay out when a ticket opens."""

    def __init__(self, entry: MessageView | EventView, *, expanded: bool = False) -> None:
        self.entry = entry
        self.is_message = hasattr(entry, "direction")
        self.expanded = expanded and self.is_message
        if self.is_message:
            kind = "out" if entry.direction == MailDirection.OUT else "in"
            if entry.direction == MailDirection.IN and not entry.sender_is_customer and not entry.is_auto:
                kind += " stranger"
        else:
            kind = "note" if entry.kind == EventKind.NOTE else "event"
        super().__init__(classes=f"entry {kind}")

    def render(self) -> Content:
        return Content.from_markup(self._text())

    def _text(self) -> str:
        if self.is_message:
            return "\n".join(message_lines(self.entry, expanded=self.expanded))
        return "\n".join(event_lines(self.entry))

    def toggle(self) -> None:
        if not self.is_message:
            return
        self.expanded = not self.expanded
        self.refresh(layout=True)

    def plain(self) -> str:
        """What the entry shows, without markup (tests, the help line)."""
        from rich.text import Text
        return Text.from_markup(self._text()).plain


__all__ = ["EntryItem", "NOTE_TITLE", "NOT_CUSTOMER", "event_lines", "message_lines", "size_label"]
