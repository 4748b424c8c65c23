"""Triage in the inbox: claim, assign, status, close, note, flag, mark, filter.

The triage keys act on the marked tickets, or else on the one under the cursor
(``_targets``). Each change is one service call in a thread worker that ends with
``TicketsChanged``; the screen then says what happened and reads the page again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen

from deskapp import texts
from deskapp.services import filters
from deskapp.services.readmodels import TicketRow
from models.enums import Priority, Queue, TicketStatus

from ..messages import AssigneesLoaded, FilterChoicesLoaded, TicketsChanged
from .table import TicketTable

if TYPE_CHECKING:  # the dialogs are imported when opened (not before the first frame)
    from ..dialogs.filter import FilterChoice

VERB = {"claim": "übernommen", "assign": "zugewiesen", "status": "geändert", "priority": "neu priorisiert",
        "queue": "verschoben"}


class TriageActions(Screen):
    """Mixin of ``InboxScreen`` (its ``filter``, ``marked``, ``reload`` and the table)."""

    filter: filters.TicketFilter
    marked: dict[int, TicketRow]

    def _targets(self) -> list[TicketRow]:
        """The marked tickets, or else the one under the cursor."""
        if self.marked:
            return list(self.marked.values())
        row = self._current_row()
        return [row] if row else []

    # -- marking and the filter --------------------------------------------------------

    def action_mark(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.id in self.marked:
            del self.marked[row.id]
        else:
            self.marked[row.id] = row
        table = self.query_one(TicketTable)
        table.show_mark(row, row.id in self.marked)
        self._update_title()
        table.action_cursor_down()

    def action_filter(self) -> None:
        from ..dialogs.filter import FilterChoice

        f = self.filter
        if f.statuses == filters.ACTIVE_STATUSES:
            status = "active"
        elif len(f.statuses) == 1:
            status = f.statuses[0]
        else:
            status = "all"
        self._open_filter(FilterChoice(status=status, priority=f.priority, assignee=f.assignee, flag=f.flag))

    @work(thread=True, exclusive=True, group="dialog", exit_on_error=False)
    def _open_filter(self, current: FilterChoice) -> None:
        from deskapp.services import agents

        self.post_message(FilterChoicesLoaded(current, self.app.read(agents.list_agents)))

    @on(FilterChoicesLoaded)
    def _show_filter(self, event: FilterChoicesLoaded) -> None:
        from ..dialogs.filter import FilterDialog

        statuses = [("active", "aktiv (neu, offen, wartend)"), ("all", "alle")] + [
            (s.value, texts.STATUS[s]) for s in TicketStatus
        ]
        priorities = [(p.value, texts.PRIORITY[p]) for p in sorted(Priority, reverse=True)]
        assignees = [("-", "niemand")] + [(a.login, f"{a.login} — {a.display_name}") for a in event.people]
        flags = [(code, label) for code, label in texts.FLAG.items()]

        def apply(choice: FilterChoice | None) -> None:
            if choice is None:
                return
            if choice.status == "active":
                statuses_ = filters.ACTIVE_STATUSES
            elif choice.status == "all":
                statuses_ = filters.ALL_STATUSES
            else:
                statuses_ = (choice.status,)
            self.filter = replace(
                self.filter, statuses=statuses_, priority=choice.priority, assignee=choice.assignee,
                flag=choice.flag,
            )
            self.hold_frames()  # the dialog gone and the filtered rows: one frame
            self.reload(first=True, keep=False, sidebar=False)

        self.app.push_screen(
            FilterDialog(current=event.current, statuses=statuses, priorities=priorities, assignees=assignees,
                         flags=flags),
            apply,
        )

    # -- changes -----------------------------------------------------------------------

    def action_claim(self) -> None:
        targets = self._targets()
        if targets:
            self._change(targets, "claim")

    def action_close(self) -> None:
        targets = self._targets()
        if targets:
            self._change(targets, "status", status=TicketStatus.RESOLVED)

    def action_status(self) -> None:
        from ..dialogs.choice import ChoiceDialog

        targets = self._targets()
        if not targets:
            return
        choices = [(s.value, texts.STATUS[s]) for s in TicketStatus]
        title = "Status setzen" + (f" für {len(targets)} Tickets" if len(targets) > 1 else f" für #{targets[0].number}")

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "status", status=value)

        self.app.push_screen(ChoiceDialog(title, choices, current=targets[0].status), chosen)

    def action_assign(self) -> None:
        targets = self._targets()
        if targets:
            self._open_assign(targets)

    @work(thread=True, exclusive=True, group="dialog", exit_on_error=False)
    def _open_assign(self, targets: list[TicketRow]) -> None:
        from deskapp.services import agents

        queues = {t.queue for t in targets}
        # Only agents who may work the tickets' queues (the service refuses anyone else).
        self.post_message(AssigneesLoaded(targets, self.app.read(lambda s: agents.assignable_agents(s, queues))))

    @on(AssigneesLoaded)
    def _show_assign(self, event: AssigneesLoaded) -> None:
        from ..dialogs.choice import ChoiceDialog

        targets = event.targets
        choices = [("-", "niemand (Zuweisung aufheben)")] + [
            (a.login, f"{a.login} — {a.display_name}") for a in event.people
        ]
        title = "Zuweisen" + (f": {len(targets)} Tickets" if len(targets) > 1 else f": #{targets[0].number}")
        queues = sorted({texts.QUEUE[Queue(t.queue)] for t in targets})
        title += f" (wer die Queue {' und '.join(queues)} bearbeiten darf)"

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "assign", assignee_login=None if value == "-" else value)

        self.app.push_screen(ChoiceDialog(title, choices, current=targets[0].assignee_login or "-"), chosen)

    def _scope(self, targets: list[TicketRow]) -> str:
        return f" für {len(targets)} markierte Tickets" if len(targets) > 1 else f" für #{targets[0].number}"

    def action_priority(self) -> None:
        """``p``: choose the priority of the marked tickets or the one under the cursor."""
        from ..dialogs.choice import ChoiceDialog

        targets = self._targets()
        if not targets:
            return
        choices = [(str(int(p)), texts.PRIORITY[p]) for p in sorted(Priority, reverse=True)]

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "priority", priority=int(value))

        self.app.push_screen(
            ChoiceDialog("Priorität setzen" + self._scope(targets), choices, current=str(int(targets[0].priority))),
            chosen,
        )

    def action_move_queue(self) -> None:
        """``m``: move the marked tickets or the one under the cursor to another queue."""
        from ..dialogs.choice import ChoiceDialog

        targets = self._targets()
        if not targets:
            return
        here = {t.queue for t in targets}
        choices = [(q.value, texts.QUEUE[q]) for q in Queue if {q.value} != here]

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "queue", queue=value)

        self.app.push_screen(ChoiceDialog("In Queue verschieben" + self._scope(targets), choices), chosen)

    def action_note(self) -> None:
        from ..dialogs.note import NoteDialog

        row = self._current_row()
        if row is None:
            return

        def save(text: str | None) -> None:
            if text:
                self._save_note(row.id, text)

        self.app.push_screen(NoteDialog(f"Interne Notiz zu #{row.number}"), save)

    @work(thread=True, group="write", exit_on_error=False)
    def _save_note(self, ticket_id: int, text: str) -> None:
        from deskapp.services import tickets

        app = self.app
        app.write(lambda s: tickets.add_note(s, app.agent, ticket_id, text_=text, now=app.now()))
        self.post_message(TicketsChanged("Notiz gespeichert."))

    def action_flag(self) -> None:
        row = self._current_row()
        if row is not None:
            self._toggle_flag(row)

    @work(thread=True, group="write", exit_on_error=False)
    def _toggle_flag(self, row: TicketRow) -> None:
        from deskapp.services import tickets

        app = self.app
        app.write(lambda s: tickets.toggle_flag(s, app.agent, row, flag="flagged", now=app.now()))
        self.post_message(TicketsChanged(""))

    @work(thread=True, group="write", exit_on_error=False)
    def _change(self, targets: list[TicketRow], action: str, **kwargs) -> None:
        """One bulk change; what the service refused comes back in the result, not raised."""
        from deskapp.services import tickets

        app = self.app
        result = app.write(lambda s: tickets.bulk(s, app.agent, targets, action, now=app.now(), **kwargs))
        done = ""
        if result.done:
            numbers = ", ".join(f"#{n}" for n in result.done[:5]) + (" …" if len(result.done) > 5 else "")
            done = f"{numbers} {VERB[action]}."
        self.post_message(TicketsChanged(done, list(result.refused), clear_marks=bool(result.done)))
