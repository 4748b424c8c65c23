"""The reference: a bare Textual app with a Header, a Footer and a 50-row DataTable.

Measured in the same run as the desk, in the same pseudo-terminal setup, so the desk's
figures can be read as ratios to "what Textual itself costs on this machine". Every desk
figure has a comparable action here (bench/README.md, "References"):

* ``down`` / ``pagedown`` — the table's own cursor and scrolling;
* ``n`` — swap the table's rows for the next 100 (clear + add_rows, cursor to the top;
  the benchmark waits for the new first row): the reference for a page flip, a queue switch, applying a
  filter and a search result;
* ``f`` — a modal with a title and four labelled inputs (the filter dialog), ``esc`` closes;
* ``u`` — push a screen with as many widgets as the customer card (summary boxes and seven
  titled tables with a few rows each), ``esc`` pops it (the reference for esc back);
* ``e`` on that screen — a modal form with as many fields as the extension form;
* ``t`` — push a screen shaped like the ticket screen (a head of three lines, a title line,
  a list of 20 two-line entries — the conversation's page — header and footer), ``esc``
  pops it: the reference for opening a ticket and going back from it.

    python -m bench.reference_app
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, ListItem, ListView, Select, Static

ROWS = 50
PAGE = 100  # rows swapped in by ``n``
TITLE = "Referenz"
FIRST_ROW = "Referenzzeile 0001"  # the benchmark waits for this text
LAST_ROW = f"Referenzzeile {ROWS:04d}"
CARD_MARKER = "Referenzkarte"  # shown by the card screen once composed
CARD_SECTIONS = 7  # the customer card's tables (screens/card.py)
CARD_ROWS = 5
FORM_MARKER = "Referenzformular"
FORM_FIELDS = 6  # the extension form's fields (screens/dialogs/extension.py)
FILTER_MARKER = "Referenzfilter"
LIST_MARKER = "Referenzverlauf"  # the ticket-shaped screen's title line
LIST_ENTRIES = 20  # the desk's conversation page (Policy.conversation_page_size)
FILTER_FIELDS = 4
MAIN_MARKER = "Nächste 100"  # the main screen's footer (esc back waits for it)
COLUMNS = ("Nr.", "Status", "Betreff", "Kunde")


def page_rows(start: int, count: int) -> list[tuple[str, ...]]:
    return [(f"#{i}", "offen", f"Referenzzeile {i:04d}", f"Kunde {i % 7}") for i in range(start, start + count)]


class FormModal(ModalScreen):
    """A modal with a title and a few labelled fields, ``esc`` closes it."""

    DEFAULT_CSS = """
    FormModal { align: center middle; }
    FormModal > Vertical { width: 70; height: auto; max-height: 90%; border: round $accent;
                           background: $surface; padding: 0 1; }
    FormModal VerticalScroll { height: auto; }
    FormModal Horizontal { height: auto; }
    FormModal Label { width: 14; }
    FormModal Input { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss", "Schließen"), Binding("ctrl+s", "apply", "Anwenden")]

    def __init__(self, title: str, fields: int, *, select: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.select = select

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text)
            with VerticalScroll():
                if self.select:
                    yield Select([(f"Budget {i}", i) for i in range(3)], prompt="–")
                for i in range(self.fields):
                    with Horizontal():
                        yield Label(f"Feld {i + 1}")
                        yield Input(placeholder=f"Wert {i + 1}")
                    yield Static("")
            yield Static("Tab weiter · Strg+S speichern · Esc abbrechen")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def action_dismiss(self) -> None:
        self.app.pop_screen()

    def action_apply(self) -> None:
        """The filter applied: the modal closes and the table shows 100 other rows."""
        self.app.pop_screen()
        self.app.action_swap()


class CardScreen(Screen):
    """As many widgets as the customer card: three boxes, seven titled tables, header, footer."""

    DEFAULT_CSS = """
    CardScreen .box { width: 1fr; height: 5; border: round $accent; }
    CardScreen #summary { height: 5; }
    CardScreen .section { height: auto; }
    CardScreen DataTable { height: auto; max-height: 8; }
    """
    BINDINGS = [Binding("escape", "back", "Zurück"), Binding("e", "form", "Verlängerung")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static("")
            with Horizontal(id="summary"):
                yield Static(f"{CARD_MARKER}\nKunde 1", classes="box")
                yield Static("Kredit", classes="box")
                yield Static("Stunden", classes="box")
            yield Static("")
            for i in range(CARD_SECTIONS):
                with Vertical(classes="section"):
                    yield Label(f"Abschnitt {i + 1}")
                    yield DataTable(cursor_type="row")
                    yield Static("")
        yield Footer()

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.add_columns("Spalte A", "Spalte B", "Spalte C", "Spalte D", "Spalte E")
            table.add_rows([(f"Zeile {r}", "a", "b", "c", "d") for r in range(CARD_ROWS)])

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_form(self) -> None:
        self.app.push_screen(FormModal(FORM_MARKER, FORM_FIELDS, select=True))


class ListScreen(Screen):
    """Shaped like the ticket screen: a head, a title line, a list of two-line entries."""

    DEFAULT_CSS = """
    ListScreen #head { height: auto; padding: 0 1; border-bottom: solid $primary 40%; }
    ListScreen #title { height: 1; padding: 0 1; background: $primary 20%; }
    ListScreen ListView { height: 1fr; }
    ListScreen ListItem { padding: 0 1; height: auto; border-left: thick $accent 60%; }
    ListScreen ListItem Static { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "back", "Zurück"), Binding("r", "nothing", "Antworten"), Binding("n", "nothing", "Notiz"),
        Binding("s", "nothing", "Status"), Binding("c", "nothing", "Übernehmen"), Binding("d", "nothing", "Anhang"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("#1 Referenzticket\nSupport · Status offen\nKunde: Kunde 1", id="head")
            yield Static(f"{LIST_MARKER} · {LIST_ENTRIES} Einträge", id="title")
            yield ListView(*(
                ListItem(Static(f"▸ Eintrag {i + 1} · Kunde 1 <kunde@example.org>\n  Betreff — erste Zeile"))
                for i in range(LIST_ENTRIES)
            ))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ListView).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_nothing(self) -> None:
        pass


class ReferenceApp(App):
    TITLE = TITLE
    BINDINGS = [
        Binding("q", "quit", "Beenden"),
        Binding("n", "swap", MAIN_MARKER),
        Binding("f", "filter", "Filter"),
        Binding("u", "card", "Karte"),
        Binding("t", "list", "Verlauf"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.start = 1

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        for row in page_rows(1, ROWS):
            table.add_row(*row)
        table.focus()

    def action_swap(self) -> None:
        table = self.query_one(DataTable)
        self.start += ROWS if self.start == 1 and table.row_count == ROWS else PAGE
        table.clear()
        table.add_rows(page_rows(self.start, PAGE))
        table.move_cursor(row=0, animate=False)

    def action_filter(self) -> None:
        self.push_screen(FormModal(FILTER_MARKER, FILTER_FIELDS))

    def action_card(self) -> None:
        self.push_screen(CardScreen())

    def action_list(self) -> None:
        self.push_screen(ListScreen())


def main() -> None:
    ReferenceApp().run()


if __name__ == "__main__":
    main()
