"""The reference: a bare Textual app with a Header, a Footer and a 50-row DataTable.

Measured in the same run as the desk, in the same pseudo-terminal setup, so the desk's
figures can be read as ratios to "what Textual itself costs on this machine".

    python -m bench.reference_app
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header

ROWS = 50
TITLE = "Referenz"
FIRST_ROW = "Referenzzeile 0001"  # the benchmark waits for this text
LAST_ROW = f"Referenzzeile {ROWS:04d}"


class ReferenceApp(App):
    TITLE = TITLE
    BINDINGS = [Binding("q", "quit", "Beenden")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Nr.", "Status", "Betreff", "Kunde")
        for i in range(1, ROWS + 1):
            table.add_row(f"#{i}", "offen", f"Referenzzeile {i:04d}", f"Kunde {i % 7}")
        table.focus()


def main() -> None:
    ReferenceApp().run()


if __name__ == "__main__":
    main()
