"""Colours the screens share for stored codes (priority, status); hostile text made inert."""

from __future__ import annotations

from deskapp.formatting import inert, inert_table
from models.enums import Priority, TicketStatus

PRIORITY_STYLE = {Priority.URGENT: "bold red", Priority.HIGH: "yellow", Priority.NORMAL: "", Priority.LOW: "dim"}
STATUS_STYLE = {
    TicketStatus.NEW: "bold cyan",
    TicketStatus.OPEN: "green",
    TicketStatus.WAITING: "magenta",
    TicketStatus.RESOLVED: "dim",
}


# --------------------------------------------------------------------------- hostile text


def inert_markup(text: object, *, keep_newlines: bool = False) -> str:
    """Outside text for a widget that parses markup: control characters as placeholders
    (``deskapp.formatting.inert``) and every ``[`` escaped, so "[red]" is shown, not applied.

    Every bracket, not only those that look like a tag (``rich.markup.escape``): Textual's
    parser reads "[0m … [b]" as a tag, and then shows the escape's backslash."""
    return inert(text, keep_newlines=keep_newlines).replace("[", "\\[")


def inert_cell(text: object):
    """Outside text as a table cell: a ``Text`` (a ``str`` cell would be parsed as markup)."""
    from rich.text import Text

    return Text(inert(text) if text not in (None, "") else "–")


def make_terminal_text_inert() -> None:
    """The desk's safety net: every Rich ``Text`` and Textual ``Content`` built in this process
    shows control characters as placeholders (ESC → ␛) instead of passing them to the terminal.

    Both libraries already delete BEL, BS, VT, FF and CR from text (their translate tables);
    ESC, the other C0 controls, C1 controls and bidi overrides they let through. This extends
    the same tables in place with ``inert``'s placeholders, so text that reaches a widget
    without ``inert`` (a notice echoing input, a cell someone forgot) is still harmless.
    CR stays deleted (a mail's CRLF line ends). Idempotent. docs/rules.md#inert-text.
    """
    from rich import control as rich_control
    from textual import content as textual_content

    table = inert_table(keep_newlines=True)
    table[0x0D] = None  # type: ignore[assignment]
    for library_table in (rich_control._CONTROL_STRIP_TRANSLATE, textual_content._CONTROL_STRIP_TRANSLATE):
        library_table.update(table)
