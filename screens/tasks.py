"""A customer's tasks (key ``T`` on the card): create, edit, close, delete, log time.

An open task with a deadline blocks its estimate in the budget valid at the deadline;
closing or deleting it frees the block. A deadline on a budget expiry (the workaround)
is flagged on the row. One thread worker reads the list and the budget; each change is
one service call in a worker, then the list is read again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import uuid

from rich.columns import Columns
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from deskapp import texts
from deskapp.formatting import date_de, hhmm, hours_label, inert, today_berlin
from deskapp.services import budget
from models.enums import TaskStatus

from .dialogs.choice import ChoiceDialog
from .dialogs.log_time import LogTimeDialog, announce_time
from .dialogs.task import TaskDialog
from .messages import TaskChanged, TasksLoaded, WorkerFailed
from .workers import WorkerNotices

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.budget import TaskView

# Column widths; the title takes what the terminal leaves (between these bounds).
FIXED_COLUMNS = (("Nr.", "id", 4), ("Schätzung", "estimate", 9), ("Erfasst", "logged", 7),
                 ("Deadline", "deadline", 8), ("Status", "status", 8))
HINT_WIDTH = 24  # "Schätzung überschritten", "⚑ Budgetverfall 09.12.26"
TITLE_WIDTH = (16, 60)

TASKS_CSS = """
TasksScreen #tasks-summary { height: auto; padding: 0 1; border: round $primary 50%; }
TasksScreen #tasks-note { height: auto; padding: 0 1; }
TasksScreen #tasks { height: 1fr; }
TasksScreen #tasks-empty { color: $text-muted; padding: 1 2; }
"""


class TaskTable(DataTable):
    """The list; Enter edits the task under the cursor, and the footer says so."""

    BINDINGS = [Binding("enter", "select_cursor", "Bearbeiten", id="tasks.edit")]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "select_cursor":  # greyed out on a closed task, like the screen's keys
            return self.screen.check_action("edit", parameters)
        return super().check_action(action, parameters)


class TasksScreen(WorkerNotices, Screen[bool]):
    """Returns True when something was changed (the card reloads either way)."""

    DEFAULT_CSS = TASKS_CSS
    HELP_TITLE = "Aufgaben"
    WRITE_GROUPS = frozenset({"tasks-write"})
    REFUSAL_TIMEOUT = 6
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="tasks.back"),
        Binding("n", "new", "Neue Aufgabe", id="tasks.new"),
        Binding("enter", "edit", "Bearbeiten", show=False),
        Binding("t", "log_time", "Zeit erfassen", id="tasks.log_time"),
        Binding("C", "close_task", "Erledigt", id="tasks.close"),
        Binding("d,delete", "delete", "Löschen", id="tasks.delete"),
        Binding("r", "refresh", "Aktualisieren", id="tasks.refresh", show=False),
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    def __init__(self, *, customer_id: uuid.UUID, customer: str) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.tasks: tuple[TaskView, ...] = ()
        self.expiries: tuple[dt.date, ...] = ()
        self.changed = False
        self._loaded = False
        self._title_width: int | None = None
        self._today: dt.date | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("", id="tasks-summary")
            yield Static("", id="tasks-note")
            yield TaskTable(id="tasks", cursor_type="row", zebra_stripes=True)
            yield Static("Keine Aufgaben. n legt eine an.", id="tasks-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Aufgaben von {self.customer}"
        self.query_one("#tasks-summary").border_title = f"Aufgaben · {self.customer}"
        table = self.query_one("#tasks", DataTable)
        self._build_columns(self.app.size.width)
        self.query_one("#tasks-empty").display = False
        self.query_one("#tasks-note").display = False
        table.focus()
        self.load()

    @staticmethod
    def _wanted_title_width(screen_width: int) -> int:
        fixed = sum(width for _, _, width in FIXED_COLUMNS) + HINT_WIDTH
        padding = 2 * (len(FIXED_COLUMNS) + 2) + 2  # cell padding and the scrollbar
        low, high = TITLE_WIDTH
        return max(low, min(high, screen_width - fixed - padding))

    def _build_columns(self, screen_width: int) -> None:
        self._title_width = self._wanted_title_width(screen_width)
        table = self.query_one("#tasks", DataTable)
        table.clear(columns=True)
        columns = [*FIXED_COLUMNS[:1], ("Aufgabe", "title", self._title_width), *FIXED_COLUMNS[1:],
                   ("Hinweis", "hint", HINT_WIDTH)]
        for label, key, width in columns:
            table.add_column(label, key=key, width=width)

    def on_resize(self, event) -> None:
        if self._title_width != self._wanted_title_width(self.app.size.width):
            self._build_columns(self.app.size.width)
            self._fill_rows()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="tasks", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        customer_id, policy, today = self.customer_id, app.policy, today_berlin(app.now())

        def fetch(session):
            tasks = budget.list_tasks(session, customer_id, policy=policy)
            return tasks, budget.load_budget(session, customer_id, today), tuple(
                budget.current_expiry_dates(session, customer_id)
            )

        tasks, state, expiries = app.read(fetch)
        self.post_message(TasksLoaded(tasks, state, expiries, today))

    @on(TasksLoaded)
    def _show(self, event: TasksLoaded) -> None:
        tasks, state, expiries, today = event.tasks, event.budget, event.expiries, event.today
        self.tasks, self.expiries, self._loaded = tasks, expiries, True
        if state.next_expiry is None:
            next_expiry = "–"
        else:
            days = "1 Tag" if state.days_left == 1 else f"{state.days_left} Tage"
            next_expiry = f"{date_de(state.next_expiry)} (noch {days})"
        # The figures side by side; on a narrow terminal they move to a second line whole.
        summary = Columns([
            Text.assemble(("Gültig ", "dim"), (hours_label(state.valid), "bold")),
            Text.assemble(("Blockiert ", "dim"), hours_label(state.blocked)),
            Text.assemble(("Verfallen ", "dim"), hours_label(state.expired)),
            Text.assemble(("Nächster Verfall ", "dim"), next_expiry),
        ], padding=(0, 3))
        self.query_one("#tasks-summary", Static).update(summary)
        hits = [t for t in tasks if t.workaround and t.status == TaskStatus.OPEN]
        note = self.query_one("#tasks-note", Static)
        if hits:
            what = "1 offene Aufgabe" if len(hits) == 1 else f"{len(hits)} offene Aufgaben"
            note.update(Text.assemble(
                (f" {texts.FLAG_SYMBOL['workaround']} {texts.FLAG['workaround']} ", "bold black on yellow"),
                f" {what} — wirkt wie eine Budgetverlängerung, erst Genehmigung einholen",
            ))
        note.display = bool(hits)
        self._today = today
        self._fill_rows()
        self.query_one("#tasks", DataTable).display = bool(tasks)
        self.query_one("#tasks-empty").display = not tasks
        self.refresh_bindings()

    def _fill_rows(self) -> None:
        table = self.query_one("#tasks", DataTable)
        keep = table.cursor_row
        table.clear()
        for t in self.tasks:
            table.add_row(*self._cells(t, self._today), key=str(t.id))
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)

    @staticmethod
    def _cells(t: TaskView, today: dt.date) -> list:
        done = t.status != TaskStatus.OPEN
        style = "dim" if done else ""
        if done:
            hint = Text("")
        elif t.workaround:
            # The note above the list says what it means; the row names the expiry it sits on.
            hint = Text(f"{texts.FLAG_SYMBOL['workaround']} Budgetverfall {date_de(t.expiry_hit)}",
                        style="bold yellow")
        elif t.deadline is not None and t.deadline < today:
            hint = Text("Deadline überschritten", style="red")
        elif t.estimate_minutes and t.logged_minutes > t.estimate_minutes:
            hint = Text("Schätzung überschritten", style="yellow")
        else:
            hint = Text("")
        return [
            Text(str(t.id), justify="right", style=style),
            Text(inert(t.title), style=style),
            Text(hhmm(t.estimate_minutes), justify="right", style=style),
            Text(hhmm(t.logged_minutes), justify="right", style=style),
            Text(date_de(t.deadline), style=style),
            Text(texts.TASK_STATUS.get(t.status, t.status), style=style),
            hint,
        ]

    @on(WorkerFailed)
    def _failed(self, event: WorkerFailed) -> None:
        if event.refused:
            self.load()  # changed meanwhile: show the tasks as they are now

    # ------------------------------------------------------------------ helpers

    def _selected(self) -> TaskView | None:
        table = self.query_one("#tasks", DataTable)
        if not self.tasks or not table.row_count:
            return None
        return self.tasks[min(table.cursor_row, len(self.tasks) - 1)]

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected_row(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("edit", "close_task", "log_time"):
            task = self._selected()
            return True if task is not None and task.status == TaskStatus.OPEN else None
        if action == "delete":
            return True if self._selected() is not None else None
        if action == "new":
            return True if self._loaded and not self.app.agent.is_system else None
        return True

    def _after(self, message: str, severity: str = "information") -> None:
        if message:
            self.notify(message, severity=severity, timeout=6)
        self.load()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(self.changed)

    def action_refresh(self) -> None:
        self.load()

    def action_cursor_down(self) -> None:
        self.query_one("#tasks", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#tasks", DataTable).action_cursor_up()

    def _saved(self, verb: str):
        def saved(view: TaskView | None) -> None:
            if view is None:
                self.load()  # a refused edit (changed meanwhile) shows the task as it is now
                return
            self.changed = True
            message = f"Aufgabe {view.id} „{view.title}“ {verb}."
            if view.workaround:
                self._after(f"{message} {texts.WORKAROUND_HINT} ({date_de(view.expiry_hit)}).", "warning")
            else:
                self._after(message)

        return saved

    def action_new(self) -> None:
        self.app.push_screen(
            TaskDialog(customer_id=self.customer_id, customer=self.customer, expiries=self.expiries),
            self._saved("angelegt"),
        )

    def action_edit(self) -> None:
        task = self._selected()
        if task is None or task.status != TaskStatus.OPEN:
            return
        self.app.push_screen(
            TaskDialog(customer_id=self.customer_id, customer=self.customer, expiries=self.expiries, task=task),
            self._saved("gespeichert"),
        )

    def action_log_time(self) -> None:
        task = self._selected()
        if task is None or task.status != TaskStatus.OPEN:
            return

        def logged(result) -> None:
            if announce_time(self, result, self.customer):
                self.changed = True
                self.load()

        self.app.push_screen(
            LogTimeDialog(customer_id=self.customer_id, customer=self.customer, task_id=task.id,
                          task_title=task.title),
            logged,
        )

    def action_close_task(self) -> None:
        task = self._selected()
        if task is not None and task.status == TaskStatus.OPEN:
            self._write("close", task)

    def action_delete(self) -> None:
        task = self._selected()
        if task is None:
            return
        freed = " Die Blockierung wird frei." if task.status == TaskStatus.OPEN and task.deadline else ""

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._write("delete", task)

        self.app.push_screen(
            ChoiceDialog(f"Aufgabe {task.id} „{task.title}“ löschen?{freed}",
                         [("yes", "Ja, löschen"), ("no", "Nein")]),
            confirmed,
        )

    @work(thread=True, group="tasks-write", exit_on_error=False)
    def _write(self, what: str, task: TaskView) -> None:
        app = self.app

        def run(session):
            if what == "close":
                return budget.close_task(session, app.agent, task_id=task.id, now=app.now(), policy=app.policy)
            return budget.delete_task(session, app.agent, task_id=task.id, version=task.version, now=app.now(),
                                      policy=app.policy)

        app.write(run)  # a refusal raises: a warning (screens.workers), then the list again
        self.post_message(TaskChanged(what, task))

    @on(TaskChanged)
    def _task_changed(self, event: TaskChanged) -> None:
        self.changed = True
        verb = "erledigt" if event.what == "close" else "gelöscht"
        self._after(f"Aufgabe {event.task.id} „{event.task.title}“ {verb}.")


__all__ = ["TasksScreen"]
