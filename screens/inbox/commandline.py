"""The ``:`` command line of the inbox (mutt/k9s/aerc style), with completion.

``:assign lena`` · ``:queue technik`` · ``:prio hoch`` · ``:status wartend`` · ``:claim`` ·
``:close`` · ``:search …`` · ``:view NAME`` · ``:save NAME`` · ``:rename [ALT] NEU`` ·
``:delete NAME`` · ``:#42`` · ``:help``. Each command is one of the inbox's actions or
services; they act on the marked tickets, or else on the one under the cursor.

Completion: the command name, then its argument (agents, queues, priorities, statuses,
the agent's views) as grey text behind the cursor; ``tab`` or ``→`` takes it.

Mixin of ``InboxScreen`` (its ``filter``, ``marked``, ``_targets``, ``reload``, the views).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from textual import on, work
from textual.binding import Binding
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Input

from deskapp.rules import filterlang
from deskapp.services.readmodels import TicketRow

from ..messages import TicketsChanged
from .table import TicketTable


@dataclass(frozen=True)
class Command:
    name: str
    args: str  # what it takes, for :help
    help: str
    completes: str = ""  # "agent", "queue", "priority", "status", "view"


COMMANDS: tuple[Command, ...] = (
    Command("assign", "LOGIN | -", "zuweisen (- : niemand)", "agent"),
    Command("claim", "", "übernehmen"),
    Command("close", "", "schließen (erledigt)"),
    Command("status", "STATUS", "Status setzen", "status"),
    Command("prio", "PRIORITÄT", "Priorität setzen", "priority"),
    Command("queue", "QUEUE", "in eine andere Queue verschieben", "queue"),
    Command("search", "FILTER", "suchen / filtern wie mit /"),
    Command("view", "NAME", "eigene Ansicht zeigen", "view"),
    Command("save", "NAME", "aktuellen Filter als eigene Ansicht speichern"),
    Command("rename", "[ALT] NEU", "eigene Ansicht umbenennen", "view"),
    Command("delete", "NAME", "eigene Ansicht löschen", "view"),
    Command("reset", "", "Suche und Filter zurücksetzen"),
    Command("help", "", "alle Befehle"),
)
BY_NAME = {c.name: c for c in COMMANDS}
# German aliases a new agent may type first.
ALIASES = {"zuweisen": "assign", "übernehmen": "claim", "schließen": "close", "suche": "search",
           "ansicht": "view", "speichern": "save", "umbenennen": "rename", "löschen": "delete",
           "priorität": "prio", "hilfe": "help", "q": "queue"}

STATUS_WORDS = ("neu", "offen", "wartend", "erledigt")
PRIORITY_WORDS = ("niedrig", "normal", "hoch", "dringend")
QUEUE_WORDS = ("support", "vertrag", "technik", "admin")


def help_text() -> str:
    lines = [f":{c.name}{' ' + c.args if c.args else ''} — {c.help}" for c in COMMANDS]
    return "\n".join(["Befehle (tab vervollständigt):", *lines, ":#42 — Ticket 42 zeigen"])


def split(line: str) -> tuple[str, list[str]]:
    """``(command, args)`` of a typed line; quotes group words (``:save "Meine Technik"``)."""
    line = line.strip().lstrip(":").strip()
    if not line:
        return "", []
    try:
        parts = shlex.split(line)
    except ValueError:  # an unclosed quote: take the words as they are
        parts = line.replace('"', " ").split()
    if not parts:
        return "", []
    name = parts[0].lower()
    return ALIASES.get(name, name), parts[1:]


class CommandSuggester(Suggester):
    """Completes the command's name, then its argument, from the lists it is given."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.choices: dict[str, tuple[str, ...]] = {
            "agent": ("-",), "queue": QUEUE_WORDS, "priority": PRIORITY_WORDS, "status": STATUS_WORDS, "view": (),
        }

    async def get_suggestion(self, value: str) -> str | None:
        if not value.startswith(":"):
            return None
        body = value[1:]
        if " " not in body:
            names = [c.name for c in COMMANDS]
            hit = next((n for n in names if n.startswith(body.lower()) and n != body.lower()), None)
            return f":{hit}" if hit and body else None
        head, _, rest = body.partition(" ")
        command = BY_NAME.get(ALIASES.get(head.lower(), head.lower()))
        if command is None or not command.completes:
            return None
        last = rest.rsplit(" ", 1)[-1] if rest else ""
        for choice in self.choices.get(command.completes, ()):
            if choice.lower().startswith(last.lower()) and choice.lower() != last.lower():
                quoted = f'"{choice}"' if " " in choice else choice
                return value[: len(value) - len(last)] + quoted
        return None


class CommandInput(Input):
    """The ``:`` line: ``tab`` takes the completion, ``esc`` closes it."""

    BINDINGS = [Binding("tab", "complete", "Vervollständigen", show=False)]

    def action_complete(self) -> None:
        if self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)


class CommandLine(Screen):
    """Mixin of ``InboxScreen``: open the line, run what was typed."""

    def action_command_line(self) -> None:
        line = self.query_one("#commandline", CommandInput)
        line.display = True
        line.value = ":"
        line.cursor_position = 1
        self.app.set_focus(line)  # now, not after the keys already typed behind the colon
        self._load_completions()

    def open_command(self, text: str) -> None:
        """The line opened with ``text`` already typed (``S`` → ``:save ``)."""
        self.action_command_line()
        line = self.query_one("#commandline", CommandInput)
        line.value = text
        line.cursor_position = len(text)

    @work(thread=True, exclusive=True, group="completions", exit_on_error=False)
    def _load_completions(self) -> None:
        from deskapp.services import agents, views

        app = self.app
        people, saved = app.read(lambda s: (agents.list_agents(s), views.list_views(s, app.agent)))
        suggester = self.query_one("#commandline", CommandInput).suggester
        suggester.choices["agent"] = ("-", *(a.login for a in people))
        suggester.choices["view"] = tuple(v.name for v in saved)

    def close_command_line(self) -> None:
        line = self.query_one("#commandline", CommandInput)
        line.value = ""
        line.display = False
        self.query_one(TicketTable).focus()

    @on(Input.Submitted, "#commandline")
    def _command_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        self.close_command_line()
        self.run_command(text)

    def run_command(self, text: str) -> None:
        name, args = split(text)
        if not name:
            return
        if name.startswith("#") or (name.isascii() and name.isdigit()):
            self.apply_search(f"#{name.lstrip('#')}")
            return
        command = BY_NAME.get(name)
        if command is None:
            self.notify(f"Unbekannter Befehl „:{name}“ — :help zeigt alle.", severity="warning", timeout=6)
            return
        getattr(self, f"_cmd_{name}")(args)

    # -- the commands ------------------------------------------------------------------

    def _need(self, args: list[str], what: str) -> str | None:
        if not args:
            self.notify(f"Bitte {what} angeben.", severity="warning", timeout=5)
            return None
        return " ".join(args)

    def _cmd_help(self, _args: list[str]) -> None:
        self.notify(help_text(), title="Befehlszeile", timeout=15)

    def _cmd_claim(self, _args: list[str]) -> None:
        self.action_claim()

    def _cmd_close(self, _args: list[str]) -> None:
        self.action_close()

    def _cmd_reset(self, _args: list[str]) -> None:
        self.reset_filter()

    def _cmd_assign(self, args: list[str]) -> None:
        login = self._need(args, "einen Agenten (oder - für niemand)")
        targets = self._targets()
        if login and targets:
            self._change(targets, "assign", assignee_login=None if login in ("-", "niemand") else login.lower())

    def _word(self, args: list[str], words, need: str, kind: str, choices: str):
        """The code of the word the command names (``filterlang``'s table ``words``), or
        None after saying what is missing or wrong: ``need`` "einen Status", ``kind`` "kein Status"."""
        word = self._need(args, f"{need} ({choices})")
        if word is None:
            return None
        code = filterlang.lookup(words, word)
        if code is None:
            self.notify(f"„{word}“ ist {kind} ({choices}).", severity="warning", timeout=6)
        return code

    def _cmd_status(self, args: list[str]) -> None:
        code = self._word(args, filterlang.STATUS_WORDS, "einen Status", "kein Status", "neu, offen, wartend, erledigt")
        targets = self._targets() if code is not None else None
        if targets:
            self._change(targets, "status", status=code)

    def _cmd_prio(self, args: list[str]) -> None:
        code = self._word(args, filterlang.PRIORITY_WORDS, "eine Priorität", "keine Priorität",
                          "niedrig, normal, hoch, dringend")
        targets = self._targets() if code is not None else None
        if targets:
            self._triage(targets, "priority", code)

    def _cmd_queue(self, args: list[str]) -> None:
        code = self._word(args, filterlang.QUEUE_WORDS, "eine Queue", "keine Queue", "support, vertrag, technik, admin")
        targets = self._targets() if code is not None else None
        if targets:
            self._triage(targets, "queue", code)

    def _cmd_search(self, args: list[str]) -> None:
        self.apply_search(" ".join(shlex.quote(a) if " " in a else a for a in args))

    def _cmd_view(self, args: list[str]) -> None:
        name = self._need(args, "den Namen einer eigenen Ansicht")
        if name:
            self.show_saved_view(name)

    def _cmd_save(self, args: list[str]) -> None:
        name = self._need(args, "einen Namen für die Ansicht")
        if name:
            self._save_view(name, self.filter_as_query())

    def _cmd_rename(self, args: list[str]) -> None:
        if len(args) == 1 and self.saved_view_name():
            old, new = self.saved_view_name(), args[0]
        elif len(args) == 2:
            old, new = args
        else:
            self.notify("So: :rename NEU (die gezeigte Ansicht) oder :rename ALT NEU.", severity="warning", timeout=6)
            return
        self._view_change("rename", old, new)

    def _cmd_delete(self, args: list[str]) -> None:
        name = " ".join(args) or self.saved_view_name()
        if not name:
            self.notify("Welche Ansicht? :delete NAME", severity="warning", timeout=5)
            return
        self._view_change("delete", name, None)

    # -- the writes --------------------------------------------------------------------

    @work(thread=True, group="write", exit_on_error=False)
    def _triage(self, targets: list[TicketRow], what: str, value) -> None:
        """Priority or queue of each target; a refused one is said, the others change."""
        from deskapp import texts
        from deskapp.services import tickets
        from deskapp.services.errors import Conflict, InvalidInput, PermissionDenied
        from models.enums import Priority, Queue

        app = self.app
        done, refused = [], []
        for row in targets:
            try:
                if what == "priority":
                    app.write(lambda s, r=row: tickets.set_priority(s, app.agent, r, priority=value, now=app.now()))
                else:
                    app.write(lambda s, r=row: tickets.move_to_queue(s, app.agent, r, queue=value, now=app.now()))
                done.append(row.number)
            except (Conflict, InvalidInput, PermissionDenied) as exc:
                refused.append(exc.message)
        words = texts.PRIORITY[Priority(value)] if what == "priority" else texts.QUEUE[Queue(value)]
        verb = f"Priorität {words}" if what == "priority" else f"nach {words} verschoben"
        message = (", ".join(f"#{n}" for n in done[:5]) + f": {verb}.") if done else ""
        app.call_from_thread(self._after_triage, message, refused, targets[0].id if len(targets) == 1 else None)

    def _after_triage(self, message: str, refused: list[str], follow: int | None) -> None:
        """Say what changed; the list is read from its top again (a new priority moves the
        ticket in the list), the cursor stays on the ticket while it is listed."""
        if message:
            self.notify(message, timeout=3)
        for text in refused[:5]:
            self.notify(text, severity="warning", timeout=8)
        if message:
            self.marked.clear()
        self._want_id = follow
        self.reload(first=True)
        self.load_saved_views()

    @work(thread=True, group="write", exit_on_error=False)
    def _save_view(self, name: str, query: str) -> None:
        from deskapp.services import views

        app = self.app
        row = app.write(lambda s: views.save_view(s, app.agent, name=name, query=query, now=app.now()))
        self.post_message(TicketsChanged(f"Ansicht „{row.name}“ gespeichert: {row.query}"))

    @work(thread=True, group="write", exit_on_error=False)
    def _view_change(self, what: str, name: str, new_name: str | None) -> None:
        from deskapp.services import views

        app = self.app
        if what == "rename":
            app.write(lambda s: views.rename_view(s, app.agent, name=name, new_name=new_name, now=app.now()))
            message = f"Ansicht „{name}“ heißt jetzt „{new_name}“."
        else:
            app.write(lambda s: views.delete_view(s, app.agent, name=name, now=app.now()))
            message = f"Ansicht „{name}“ gelöscht."
        self.app.call_from_thread(self.views_changed, name, new_name)
        self.post_message(TicketsChanged(message))


def query_of(filt) -> str:
    """The inbox's current list as a ``/`` query, for saving it as a view."""
    from deskapp.services import filters

    parts: list[str] = []
    query = filterlang.parse(filt.search) if filt.search else filterlang.FilterQuery()
    if filt.view == "mine":
        parts.append("agent:ich")
    elif filt.view == "unassigned":
        parts.append("agent:-")
    elif filt.view == "flagged":
        parts.append("kennzeichen:gemerkt")
    elif filt.queue and query.queue is None and (not filt.search or filt.search_in_queue):
        parts.append("queue:" + next(w for w, c in filterlang.QUEUE_WORDS.items() if c == filt.queue))
    if query.status is None and tuple(sorted(filt.statuses)) != tuple(sorted(filters.ACTIVE_STATUSES)):
        words = {c: w for w, c in filterlang.STATUS_WORDS.items() if not w.isascii() or w in STATUS_WORDS}
        parts.append("status:" + ",".join(words.get(s, s) for s in filt.statuses))
    if filt.priority is not None and query.priority is None:
        parts.append("prio:" + PRIORITY_WORDS[int(filt.priority) - 1])
    if filt.assignee and query.agent is None:
        parts.append(f"agent:{filt.assignee}")
    if filt.flag and query.flag is None:
        parts.append("kennzeichen:" + next(w for w, c in filterlang.FLAG_WORDS.items() if c == filt.flag))
    if filt.search:
        parts.append(filt.search)
    return " ".join(parts)


__all__ = ["COMMANDS", "CommandInput", "CommandLine", "CommandSuggester", "help_text", "query_of", "split"]
