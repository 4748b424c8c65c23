"""The Textual application: screens, global bindings, the command palette.

The engine, the agent at the keyboard, the policy and the clock are injected, so tests
build the app with their own database and a frozen clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from typing import TYPE_CHECKING, Callable, TypeVar

from textual import events, on
from textual.app import App
from textual.binding import Binding

from screens import german
from screens.greyed import explain
from screens.messages import RemindersSent
from screens.styles import make_terminal_text_inert
from screens.workers import WorkerNotices

from deskapp.formatting import utcnow
from deskapp.services.readmodels import AgentRef, TicketPage
from deskapp.settings import Policy

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

T = TypeVar("T")

# Modules the first keypresses need; imported by a worker after the first frame.
WARM_UP = (
    "models.engine",
    "deskapp.services.tickets",
    "deskapp.services.card",
    "screens.card",
    "screens.dialogs.filter",  # the inbox's dialogs are imported when first opened
    "screens.dialogs.choice",
    "screens.dialogs.note",
    "screens.dialogs.extension",
    "screens.dialogs.order",
    "screens.dialogs.log_time",
    "screens.dialogs.book_package",
    "screens.dialogs.task",
    "screens.customer_search",
    "pendulum",
)
# The interpreter's switch interval while the warm-up imports (Python's default: 5 ms): a
# thread that wants the GIL waits this long before the holder is asked to let go.
WARM_UP_SWITCH_INTERVAL = 0.001
# The garbage collector runs this long after a screen is removed / pushed (DeskApp's
# _collect_garbage_soon): the screen below or the new one has painted by then.
COLLECT_AFTER_CLOSE_SECONDS = 0.1
COLLECT_AFTER_PUSH_SECONDS = 0.3
COLLECT_WAIT_MAX_SECONDS = 2.0  # ... later while workers run, but at the latest this much later
KEEP_KEYS_SECONDS = 3.0  # the longest a dialog's read may keep the keys typed for it


_frozen = False


def _freeze_imports_once() -> None:
    """Move what the imports made (modules, classes, SQLAlchemy's and Textual's tables) out of
    the cyclic garbage collector's sight: each collection walked all of it again, about half
    of what a filter, a queue switch or a search added to the next key (bench/README.md).
    Once per process: later apps in the same process (the tests) freeze nothing of theirs."""
    global _frozen
    if not _frozen:
        import gc

        _frozen = True
        gc.freeze()


# Control characters in outside text never reach the terminal (docs/rules.md#inert-text).
make_terminal_text_inert()


class DeskApp(WorkerNotices, App):
    TITLE = "deskapp"
    SUB_TITLE = "Support-Desk"
    QUIET_GROUPS = frozenset({"warm-up"})  # a failed warm-up only means the first key imports
    BINDINGS = [
        Binding("ctrl+u", "customer_search", "Kunde suchen", id="customer_search"),
        Binding("ctrl+o", "absences", "Abwesenheiten", id="absences", show=False),
        Binding("ctrl+g", "agents", "Agenten", id="agents", show=False),
        Binding("ctrl+e", "settings", "Einstellungen", id="settings", show=False),
        Binding("O", "outbox", "Postausgang", id="outbox", show=False),
        Binding("question_mark", "help", "Hilfe", id="help"),
        Binding("q", "quit", "Beenden", id="quit"),
        # Textual's own palette binding, with a German label (docs/glossary.md).
        Binding("ctrl+p", "command_palette", german.PALETTE_LABEL, show=False, priority=True,
                id="command_palette", tooltip="Alle Befehle dieses Bildschirms"),
    ]

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        engine_factory: Callable[[], Engine] | None = None,
        first_page: TicketPage | None = None,
        agent: AgentRef,
        policy: Policy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        notice: str = "",
        poll: bool = True,
    ) -> None:
        super().__init__()
        if engine is None and engine_factory is None:
            raise ValueError("an engine or an engine factory is needed")
        self._engine = engine
        self._engine_factory = engine_factory
        self._engine_lock = threading.Lock()
        # Held by the warm-up for each module it imports, and by a database worker for its
        # whole run while the warm-up is still importing (see ``_imports_settled``).
        self._import_lock = threading.RLock()
        self._warmed = threading.Event()
        self._writes = 0  # write transactions in flight (the exit waits for these only)
        self._writes_done = threading.Condition()
        # The inbox's first page, read by deskapp.quickstart before the ORM was imported.
        self.first_page = first_page
        self.agent = agent
        self.policy = policy or Policy()
        self.clock = clock
        self.notice = notice
        self.poll = poll
        self.sub_title = f"{agent.display_name} ({agent.login})"

    # -- database access for thread workers (never call on the UI thread) ----------

    @property
    def engine(self) -> Engine:
        """The database engine; on the lean start it is built by the first worker that asks."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = self._engine_factory()
        return self._engine

    def _imports_settled(self):
        """A context for a worker's run: while the warm-up still imports, the run waits for
        the module being imported and keeps the warm-up out until it is done.

        Two threads importing into the same circle of modules (SQLAlchemy's packages import
        each other) can be handed a partly initialised module by CPython's import-deadlock
        avoidance: a search typed right after the start failed with "cannot import name
        'AdaptedConnection' from partially initialized module 'sqlalchemy.engine'". Once the
        warm-up is done, workers run without the lock.
        """
        return contextlib.nullcontext() if self._warmed.is_set() else self._import_lock

    def read(self, fn: Callable[..., T]) -> T:
        with self._imports_settled():
            from models.engine import read

            return read(self.engine, fn)  # run once more if the database connection was lost under it

    def write(self, fn: Callable[..., T]) -> T:
        with self._imports_settled():
            from models.engine import write_session

            with self._writes_done:
                self._writes += 1
            try:
                with write_session(self.engine) as session:
                    return fn(session)
            finally:
                with self._writes_done:
                    self._writes -= 1
                    self._writes_done.notify_all()

    def run_and_leave(self) -> None:
        """``run()`` for the console script, whose process ends right after (``os._exit``).

        ``App.run`` ends with ``asyncio.run``, which joins every thread worker: after ``q``
        the process waited for whatever was still reading (the warm-up's imports, a page,
        the poll), up to seconds on a busy machine. Reads can simply be dropped; a write
        in flight is waited for, so what the agent asked for is committed or not started.
        """
        import asyncio

        self._leave_fast = True
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.run_async())
        finally:
            self._wait_for_writes()
            loop.close()  # does not join the executor's threads (shutdown without wait)

    def _wait_for_writes(self) -> None:
        with self._writes_done:
            self._writes_done.wait_for(lambda: self._writes == 0, timeout=30)

    async def action_quit(self) -> None:
        """``q``: under the console script, restore the terminal and end the process now.

        Textual's own exit unmounts every widget of every screen first, on the UI thread,
        while the warm-up worker may still be importing: 0.3–0.8 s more on a busy machine,
        with nothing left to save (every write is committed, reads are dropped). Tests
        (``run_test``) take Textual's exit.
        """
        driver = self._driver
        if not getattr(self, "_leave_fast", False) or driver is None:
            self.exit()
            return
        import os
        import sys

        self._wait_for_writes()
        _restore_terminal(driver)
        driver.close()  # drains the output thread: the terminal is restored before we go
        sys.stdout.flush()
        os._exit(self.return_code or 0)

    def now(self) -> dt.datetime:
        return self.clock()

    # -- frames computed during a batch -----------------------------------------------

    _dropped_on = None  # the screen whose frame a batch dropped

    def _display(self, screen, renderable) -> None:
        """Textual computes a screen update, marks it clean, then drops it while a batch is
        open (``App._display`` returns under ``_batch_count``). At the start the footer's
        first recompose is such a batch: the whole first frame was dropped and only the next
        partial update (header, sidebar, footer) reached the terminal; the ticket rows came
        with the next full repaint, 0.15–0.45 s later. So a dropped frame is remembered, and
        when the batch ends the whole screen is marked for the next update."""
        if renderable is not None and self._batch_count:
            self._dropped_on = screen
        super()._display(screen, renderable)

    def _end_batch(self) -> None:
        super()._end_batch()
        screen = self._dropped_on
        if screen is not None and not self._batch_count:
            self._dropped_on = None
            if screen is self.screen:
                compositor = screen._compositor
                compositor._dirty_regions.add(compositor.size.region)  # a full update
                screen.refresh()

    # -- screens ------------------------------------------------------------------

    # Garbage of the screens: a closed screen (a dialog, the card) is a web of cycles —
    # parent and children, message queues, styles — and so is much of what a screen's read
    # left behind; reference counting frees none of it. It waits for a full collection of
    # the garbage collector, which after the warm-up's ``gc.freeze`` comes rarely, and the
    # next screens grew the heap beside it (issue 16, peak RSS: the filter dialog, the card
    # and its form). So a full collection runs shortly after a screen is removed and after
    # one is shown — once it has painted and the key that changed it (``typed_on``) is gone,
    # and not while a worker still reads for it. It walks only what was made since the
    # freeze (5–50 ms), between keys.
    _collect_timer = None

    async def _replace_screen(self, screen):
        replaced = await super()._replace_screen(screen)
        if not screen.is_attached:
            self._collect_garbage_soon(COLLECT_AFTER_CLOSE_SECONDS)
        return replaced

    def push_screen(self, *args, **kwargs):
        pushed = super().push_screen(*args, **kwargs)
        self._collect_garbage_soon(COLLECT_AFTER_PUSH_SECONDS)
        return pushed

    def _collect_garbage_soon(self, delay: float) -> None:
        """One collection, ``delay`` after the last screen change asked for it."""
        if self._collect_timer is not None:
            self._collect_timer.stop()
        self._collect_timer = self.set_timer(delay, self._collect_garbage)

    def _collect_garbage(self, waited: float = 0.0) -> None:
        import gc

        from textual.worker import WorkerState

        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in self.workers)
        if busy and waited < COLLECT_WAIT_MAX_SECONDS:
            step = COLLECT_AFTER_CLOSE_SECONDS
            self._collect_timer = self.set_timer(step, lambda: self._collect_garbage(waited + step))
            return
        self._collect_timer = None
        gc.collect()

    def on_mount(self) -> None:
        from screens.inbox import InboxScreen

        self.push_screen(InboxScreen())
        # After the first frame: the start notice (a toast to lay out and paint) and the
        # warm-up, which competes for the GIL with the first paint.
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        if self.notice:
            self.notify(self.notice, timeout=6)
        self.run_worker(self._warm_up, thread=True, group="warm-up", exit_on_error=False)

    def _warm_up(self) -> None:
        """Import what the next keys need (ORM, services, screens) off the UI thread.

        The first frame does not wait for these; without this, the first ``u`` or ``e``
        would pay for the imports on the UI thread. Meanwhile the UI thread must still get
        the GIL at once for a key (``q`` right after the start waited up to ~1 s): the
        interpreter's switch interval is short while the warm-up runs, and it lets go of
        the GIL between modules.
        """
        import importlib
        import sys
        import time

        interval = sys.getswitchinterval()
        sys.setswitchinterval(WARM_UP_SWITCH_INTERVAL)
        try:
            for name in WARM_UP:
                with self._import_lock:
                    importlib.import_module(name)
                time.sleep(0)
            _freeze_imports_once()
        finally:
            self._warmed.set()
            sys.setswitchinterval(interval)

    # -- German in Textual's own places (screens.german) ------------------------------

    def get_key_display(self, binding: Binding) -> str:
        if binding.key_display:
            return binding.key_display
        return german.key_label(binding.key)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not german.GermanCommandPalette.is_open(self):
            self.push_screen(german.GermanCommandPalette(id="--command-palette"))

    def action_help_quit(self) -> None:
        """ctrl+c: it does not quit; say which key does."""
        self.notify("Beenden mit [b]q[/b] oder [b]Strg+Q[/b].", title="Beenden?")

    async def run_action(self, action, default_namespace=None, namespaces=None) -> bool:
        """A greyed key (``check_action`` → ``None``) says why instead of doing nothing
        (docs/rules.md#greyed-keys)."""
        if isinstance(action, str):
            target, name, params = self._parse_action(
                action, self if default_namespace is None else default_namespace, namespaces
            )
            if target.check_action(name, params) is None:
                self.notify(explain(target, name), severity="warning", timeout=6)
                return True
        return await super().run_action(action, default_namespace, namespaces)

    # -- keys typed ahead of a dialog (screens/forms.py) --------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            event.typed_on = self.screen  # the screen the key was aimed at (see on_key)
        await super().on_event(event)

    _keys_for_dialog: list | None = None  # keys kept while a dialog reads before it opens
    _keys_since = 0.0

    def keep_keys_for_dialog(self) -> None:
        """A screen reads what its dialog needs before pushing it (the card's ``e``): the
        keys typed meanwhile that the screen does not take — text, Tab — are kept and handed
        to the dialog when it is pushed (``hand_kept_keys``), as if it had been open."""
        import time

        self._keys_for_dialog, self._keys_since = [], time.monotonic()

    def hand_kept_keys(self, dialog) -> None:
        """The dialog is pushed (or not, ``None``): the kept keys go to it, in order."""
        kept, self._keys_for_dialog = self._keys_for_dialog or [], None
        if dialog is not None:
            for key in kept:
                dialog.type_ahead(key)

    def _keeping_keys(self) -> bool:
        import time

        if self._keys_for_dialog is not None and time.monotonic() - self._keys_since > KEEP_KEYS_SECONDS:
            self._keys_for_dialog = None  # the dialog never came: keys act where typed again
        return self._keys_for_dialog is not None

    def action_focus_next(self) -> None:
        if self._keeping_keys():
            self._keys_for_dialog.append(events.Key("tab", "\t"))
            return
        super().action_focus_next()

    def action_focus_previous(self) -> None:
        if self._keeping_keys():
            self._keys_for_dialog.append(events.Key("shift+tab", None))
            return
        super().action_focus_previous()

    def on_key(self, event: events.Key) -> None:
        """A key typed right behind the key that opened a dialog was handed to the screen
        below (the app routes each key as it reads it); no widget there took it. It
        belongs to the dialog: handed on there, in order, instead of being lost or
        acting on the screen below."""
        if self._keeping_keys():
            event.prevent_default()
            event.stop()
            self._keys_for_dialog.append(events.Key(event.key, event.character))
            return
        dialog = self.screen
        aimed = getattr(event, "typed_on", None)
        if aimed is not None and aimed is not dialog and hasattr(dialog, "type_ahead"):
            event.prevent_default()
            event.stop()
            dialog.type_ahead(event)

    def open_customer(self, customer_id: uuid.UUID) -> None:
        from screens.card import CardScreen, open_card

        def back(ticket_id: int | None) -> None:
            # enter on one of the card's open tickets: show that ticket in the inbox.
            from screens.inbox import InboxScreen

            if ticket_id is not None and isinstance(self.screen, InboxScreen):
                self.screen.show_ticket(ticket_id)

        def push(card: CardScreen) -> None:
            # One card at a time: a card opened from a card (Strg+U there) takes its place, so
            # that esc goes back one level to the inbox and never walks through old cards.
            while any(isinstance(screen, CardScreen) for screen in self.screen_stack):
                self.pop_screen()
            self.push_screen(card, back)

        open_card(self, customer_id, push)  # read first, then push it filled

    def open_ticket(self, row) -> None:
        """The ticket full screen (``enter`` in the inbox), read first and pushed filled;
        ``esc`` comes back to the list."""
        from screens.ticket.screen import open_ticket

        open_ticket(self, row, self.push_screen)

    def action_customer_search(self) -> None:
        from screens.customer_search import CustomerSearchScreen

        if isinstance(self.screen, CustomerSearchScreen):
            return  # already searching

        def chosen(customer_id: uuid.UUID | None) -> None:
            if customer_id is not None:
                self.open_customer(customer_id)

        self.push_screen(CustomerSearchScreen(), chosen)

    def get_system_commands(self, screen):
        """The palette offers every action of the current screen by its German name."""
        from functools import partial

        from textual.app import SystemCommand

        seen: set[str] = set()
        for binding in [*screen.BINDINGS, *self.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action in seen or binding.action in ("back", "focus_next", "quit", "command_palette"):
                continue
            seen.add(binding.action)
            target = self if binding in self.BINDINGS else screen
            action_name = binding.action.split("(")[0]
            if target is screen and not screen.check_action(action_name, ()):
                continue  # not applicable here (e.g. Freigeben on an ordinary ticket)
            yield SystemCommand(
                binding.description,
                f"Taste: {binding.key_display or german.keys_label(binding.key)}",
                partial(target.run_action, binding.action),
            )
        yield SystemCommand(
            "Erinnerungen jetzt senden",
            "Fällige Budget-Erinnerungen (6, 3, 1 Monat vor Ablauf) in den Postausgang legen",
            self.action_send_reminders,
        )
        yield SystemCommand("Beenden", "deskapp schließen (Taste q)", self.exit)
        yield from german.system_commands(super().get_system_commands(screen))

    def action_absences(self) -> None:
        """The absences admin screen (approval routing reads it); admins only."""
        from models.enums import Role

        if not self.agent.has(Role.ADMIN):
            self.notify("Abwesenheiten pflegen nur Admins.", severity="warning", timeout=6)
            return
        from screens.absences import AbsencesScreen

        if not isinstance(self.screen, AbsencesScreen):
            self.push_screen(AbsencesScreen())

    def action_agents(self) -> None:
        """The agents (everyone may look; the screen greys out what only admins may do)."""
        from screens.agents_admin import AgentsScreen

        if not isinstance(self.screen, AgentsScreen):
            self.push_screen(AgentsScreen())

    def action_settings(self) -> None:
        """The policy settings (everyone may look; admins change them)."""
        from screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_outbox(self) -> None:
        from screens.outbox import OutboxScreen

        if not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen())

    def action_send_reminders(self) -> None:
        """The reminder job, now (as the system agent, like cron); the result as a notice."""
        self.run_worker(self._send_reminders, thread=True, group="reminders", exclusive=True,
                        exit_on_error=False)

    def _send_reminders(self) -> None:
        """The job; a failure raises and becomes the notice (screens.workers.WorkerNotices)."""
        from deskapp.services.reminders import count_label, per_stage_label, run_reminders

        with self._imports_settled():
            report = run_reminders(self.engine, policy=self.policy, now=self.now())
        if report.sent:
            text = (f"{count_label(report.sent)} erstellt ({per_stage_label(report)}); "
                    "sie liegen im Postausgang (Taste O) und gehen mit dem nächsten Mailversand raus.")
        else:
            text = "Keine Erinnerungen fällig."
        self.post_message(RemindersSent(text))

    @on(RemindersSent)
    def _reminders_sent(self, event: RemindersSent) -> None:
        self.notify(event.text, title="Erinnerungen", timeout=8)

    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))


def _restore_terminal(driver) -> None:
    """``driver.stop_application_mode()`` without joining the input thread.

    Textual's Linux driver waits for its key thread (two ``select`` timeouts of 0.1 s)
    before it restores the terminal; the process ends right after, so the thread is only
    told to stop. Any other driver takes Textual's own path.
    """
    import signal
    import termios

    from textual.drivers.linux_driver import LinuxDriver

    if not isinstance(driver, LinuxDriver):
        driver.stop_application_mode()
        return
    driver.exit_event.set()
    signal.signal(signal.SIGWINCH, signal.SIG_DFL)
    driver._disable_mouse_support()
    driver._disable_bracketed_paste()
    driver._enable_line_wrap()
    driver._disable_in_band_window_resize()
    if driver.attrs_before is not None:
        try:
            termios.tcsetattr(driver.fileno, termios.TCSANOW, driver.attrs_before)
        except termios.error:
            pass
    driver.write("\x1b[<u")  # the Kitty keyboard protocol off, before leaving the alt screen
    driver.write("\x1b[?1049l")  # the main screen again
    driver.write("\x1b[?25h")  # the cursor visible
    driver.write("\x1b[?1004l")  # no focus events
    driver.flush()
