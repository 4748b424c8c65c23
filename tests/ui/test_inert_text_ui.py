"""Hostile text is inert on screen: control characters from outside (a shop order, an import,
a mail) are shown as placeholders, never sent to the terminal; markup in it is shown as typed
(docs/rules.md#inert-text)."""

from __future__ import annotations

from textual.geometry import Region

from decimal import Decimal

from deskapp.services import customers, tickets
from models.engine import write_session
from tests.support.deskdata import NOW
from tests.support.ui import make_app, settle

HOSTILE_SUBJECT = "Rechnung\x1b]0;gehackt\x07 [b]fett[/b] \x1b[2J"
HOSTILE_BODY = "Hallo\x1b[31m rot\x07\r\nZeile zwei \x9b1m"


def rendered(widget) -> str:
    """What the widget sends to the terminal, as text (every segment of every line)."""
    lines = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return "\n".join("".join(segment.text for segment in line) for line in lines)


async def test_escape_and_bell_in_a_subject_are_placeholders(desk):
    engine, data = desk
    with write_session(engine) as s:
        tickets.open_ticket(
            s, data["people"]["tom"], queue="support", subject=HOSTILE_SUBJECT, body=HOSTILE_BODY,
            customer_id=data["customers"][0].id, priority=4, now=NOW,
        )
        # Markup that does not even parse ("[/x]" closes nothing): shown as typed, no crash.
        odd = customers.create_customer(s, data["people"]["sara"], name="Böse [/x] [red]GmbH",
                                        credit_limit=Decimal("500.00"), now=NOW)
        tickets.open_ticket(s, data["people"]["tom"], queue="support", subject="Frage [/b]",
                            customer_id=odd.id, priority=4, now=NOW)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        hostile_row = [r.subject for r in screen.page.rows].index(HOSTILE_SUBJECT)
        screen.query_one("#tickets").move_cursor(row=hostile_row, animate=False)
        await settle(pilot)
        table = rendered(screen.query_one("#tickets"))
        detail = rendered(screen.query_one("#detail-body"))
        for shown in (table, detail):
            assert not any(ch in shown for ch in "\x1b\x07\x9b"), repr(shown)
        assert "Rechnung␛]0;gehackt␇ [b]fett[/b]" in table  # the markup shown as typed, not applied
        assert "Rechnung␛]0;gehackt␇ [b]fett[/b] ␛[2J" in detail
        assert "Böse [/x]" in table and "Frage [/b]" in table  # the customer column is narrow
        assert "Hallo␛[31m rot␇" in detail and "Zeile zwei \\u009b1m" in detail
        # The whole screen as exported: no raw escape anywhere.
        assert "\x1b" not in app.export_screenshot()


def test_escaped_outside_text_reads_back_exactly_as_typed_in_textual_markup():
    """Textual's markup parser takes "[0m … [b]" for a tag and then shows the escape's
    backslash, so every bracket is escaped (screens.styles.inert_markup)."""
    from textual.markup import to_content

    from screens.styles import inert_markup

    typed = "Hilfe \x1b[31mROT\x1b[0m Glocke [b]fett[/b] a\\[x] [link=x]y[/link]"
    shown = to_content(f"[b]{inert_markup(typed)}[/]").plain
    assert shown == "Hilfe ␛[31mROT␛[0m Glocke [b]fett[/b] a\\[x] [link=x]y[/link]"
