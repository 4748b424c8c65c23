"""The base of the desk's dialogs and forms, and the CSS they share.

``DialogScreen`` centres a dialog over the dimmed screen below. ``FormDialog`` is a form
that writes through one service call: ``ctrl+s`` checks the fields first (``prepare``
raises ``FieldError``: the message goes right under the field, nothing is sent), then runs
the job in a thread worker inside ``app.write``. The worker hands its outcome back as a
message (``FormDialog.Saved`` / ``FormDialog.Refused``). A refusal of the service is shown
in the dialog — nothing was written — under the field the service names
(``InvalidInput.field``, mapped by ``FIELDS``), else under ``INVALID_FIELD`` or at the
foot; the agent may correct and try again. ``escape`` cancels with ``None``.

The dialogs themselves live one per module in ``screens.dialogs``.
"""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from deskapp.services.errors import DeskError, InvalidInput

DIALOG_CSS = """
DialogScreen { align: center middle; }
.dialog {
    width: 64; height: auto; max-height: 80%;
    border: thick $accent; background: $panel; padding: 1 2;
    /* a form taller than a small terminal scrolls (the focused field is kept in view) */
    overflow-y: auto;
}
.dialog .title { text-style: bold; margin-bottom: 1; width: 100%; }
.dialog .hint { color: $text-muted; margin-top: 1; }
.dialog OptionList { height: auto; max-height: 16; }
.dialog TextArea { height: 8; }
.dialog Select { margin-bottom: 1; }
.dialog .row Label { width: 14; padding-top: 1; }
.dialog .row { height: auto; }
.dialog .row Select { width: 1fr; }
.dialog .explain { margin-bottom: 1; }
"""

FORM_CSS = """
.dialog .row Input { width: 1fr; }
.dialog .field-error { color: $error; text-style: bold; padding-left: 15; height: auto; }
.dialog #figures { margin-top: 1; height: auto; }
.dialog #verdict { margin-top: 1; height: auto; }
.dialog #form-error { color: $error; text-style: bold; margin-top: 1; height: auto; }
.dialog #result { height: auto; }
"""

BUDGET_FORM_CSS = """
.dialog #validity { margin-top: 1; height: auto; }
.dialog #workaround { margin-top: 1; height: auto; }
"""

MSG_DATABASE = "Datenbankfehler: {error}"
# A date field that does not parse (the forms' own words; the parser's are longer).
MSG_DATE = "Bitte ein Datum als TT.MM.JJ eingeben, z. B. 31.03.26."


class DialogScreen(ModalScreen):
    """Base of the desk's dialogs: centred over the dimmed screen below.

    Focus and fast typing (docs/rules.md#typing-ahead) — no key typed into a dialog goes astray:

    - Each dialog names the widget that starts with the focus in ``AUTO_FOCUS``: Textual
      focuses it as soon as the widgets are composed, before any key is handed to them.
      (``widget.focus()`` in ``on_mount`` is deferred behind the keys already typed: a
      ``Tab`` typed at once moved on from the field Textual had picked, then the deferred
      focus pulled the cursor back — the Tab was lost.)
    - ``Tab`` / ``Shift+Tab`` move the focus when the app reads the key (a priority
      binding), not once the field below has passed the key back up: a key typed right
      behind the Tab goes to the next field, not into the one just left.
    - A key the app hands to the dialog itself — nothing had the focus yet: typed right
      behind the key that opened the dialog, or while the dialog still loads what it
      shows — goes on to the focused widget in the order typed. While no widget can take
      the focus such keys are held (the dialog's own keys still act: ``escape`` cancels)
      until the dialog gives a field the focus with ``focus_field``.
    - Keys typed before the dialog opened that the screen below did not take come back
      through ``DeskApp.on_key`` to ``type_ahead`` and are handed on the same way.
    """

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [
        Binding("tab", "next_field(1)", "Weiter", show=False, priority=True),
        Binding("shift+tab", "next_field(-1)", "Zurück", show=False, priority=True),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._aimed_here: set[int] = set()  # ids of keys on their way to the dialog itself
        self._held_keys: list[events.Key] = []

    def _forward_event(self, event: events.Event) -> None:
        # The app hands a key to the screen itself only when nothing on it has the focus.
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._aimed_here.add(id(event))
        super()._forward_event(event)

    def action_next_field(self, step: int) -> None:
        if self._aimed_here or self._held_keys or not self._has_field_focus():
            # Keys typed before it still wait for a field: the Tab queues behind them.
            key = "tab" if step > 0 else "shift+tab"
            self._forward_event(events.Key(key, "\t" if step > 0 else None))
            return
        self.focus_next() if step > 0 else self.focus_previous()

    def on_key(self, event: events.Key) -> None:
        if id(event) not in self._aimed_here:
            return  # typed into a widget of the dialog (or passed up by one)
        self._aimed_here.discard(id(event))
        if (self._has_field_focus() or event.key in ("tab", "shift+tab")
                or event.key not in self._bindings.key_to_bindings):
            event.stop()
            event.prevent_default()
            self._held_keys.append(events.Key(event.key, event.character))
            self._release_keys()

    def type_ahead(self, event: events.Key) -> None:
        """A key typed before this dialog opened, which the screen below did not take
        (``DeskApp.on_key``): it goes where it would have gone had the dialog been open."""
        self._forward_event(events.Key(event.key, event.character))

    def focus_field(self, widget) -> None:
        """Give ``widget`` the focus now (not deferred) and hand it the keys held so far."""
        self.set_focus(widget)
        self._release_keys()

    def _has_field_focus(self) -> bool:
        return self.focused is not None and self.focused is not self

    def _release_keys(self) -> None:
        while self._held_keys and self._has_field_focus():
            key = self._held_keys.pop(0)
            if key.key == "tab":
                self.focus_next()
            elif key.key == "shift+tab":
                self.focus_previous()
            else:
                self.focused._forward_event(key)


class FieldError(Exception):
    """A field the form refuses before anything is sent: its id and the German message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FormDialog(DialogScreen):
    """A form that writes through one service call (see the module docstring)."""

    DEFAULT_CSS = DialogScreen.DEFAULT_CSS + FORM_CSS
    BINDINGS = [
        Binding("ctrl+s", "save", "Speichern", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
    ]
    # A service refusal (InvalidInput) goes under the form field its ``field`` maps to here,
    # else under INVALID_FIELD, else (None) at the foot of the form.
    FIELDS: dict[str, str] = {}
    INVALID_FIELD: str | None = None
    # Enter in one of these inputs moves on to the next; in the last it saves.
    ENTER_ORDER: tuple[str, ...] = ()

    class Saved(Message, bubble=False):
        """The service call went through; ``result`` is what it returned."""

        def __init__(self, result) -> None:
            super().__init__()
            self.result = result

    class Refused(Message, bubble=False):
        """The service refused; nothing was written."""

        def __init__(self, error: DeskError) -> None:
            super().__init__()
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self._busy = False

    # -- to fill in by each form ------------------------------------------------------

    def prepare(self):
        """Check the fields; return ``job(session)`` or raise ``FieldError``."""
        raise NotImplementedError

    def finished(self, result) -> None:
        self.dismiss(result)

    # -- the machinery ----------------------------------------------------------------

    def field_row(self, label: str, field: str, widget) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
        yield Static("", id=f"{field}-error", classes="field-error")

    def on_mount(self) -> None:
        for error in self.query(".field-error"):
            error.display = False

    def show_error(self, field: str | None, message: str) -> None:
        target = self.query_one(f"#{field}-error" if field else "#form-error", Static)
        target.update(message)
        target.display = True

    def clear_errors(self) -> None:
        for error in self.query(".field-error"):
            error.update("")
            error.display = False
        self.query_one("#form-error", Static).update("")

    def refused_field(self, error: DeskError) -> str | None:
        """The form field a service refusal belongs under (None: the foot of the form)."""
        if not isinstance(error, InvalidInput):
            return None
        return self.FIELDS.get(error.field, self.INVALID_FIELD)

    def action_save(self) -> None:
        if self._busy:
            return
        self.clear_errors()
        try:
            job = self.prepare()
        except FieldError as exc:
            self.show_error(exc.field, exc.message)
            self.set_focus(self.query_one(f"#{exc.field}"))
            return
        self._busy = True
        self._submit(job)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        order = self.ENTER_ORDER
        if event.input.id not in order:
            return
        index = order.index(event.input.id)
        if index + 1 < len(order):
            self.set_focus(self.query_one(f"#{order[index + 1]}", Input))
        else:
            self.action_save()

    @work(thread=True, exclusive=True, group="form", exit_on_error=False)
    def _submit(self, job) -> None:
        try:
            result = self.app.write(job)
        except DeskError as exc:
            self.post_message(self.Refused(exc))
            return
        self.post_message(self.Saved(result))

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self._busy = False
        self.show_error(self.refused_field(event.error), event.error.message)

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        self._busy = False
        self.finished(event.result)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "form" and event.state == WorkerState.ERROR:
            self._busy = False
            self.show_error(None, MSG_DATABASE.format(error=event.worker.error))

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(None)


class BudgetForm(FormDialog):
    """A form of the hour budget: a field's message goes once the agent edits that field."""

    DEFAULT_CSS = FormDialog.DEFAULT_CSS + BUDGET_FORM_CSS

    @on(Input.Changed)
    def _field_edited(self, event: Input.Changed) -> None:
        """A field's message goes once the agent changes that field (it is checked again on save)."""
        if event.input.id:
            for error in self.query(f"#{event.input.id}-error"):
                error.display = False


__all__ = [
    "BUDGET_FORM_CSS",
    "DIALOG_CSS",
    "FORM_CSS",
    "MSG_DATE",
    "BudgetForm",
    "DialogScreen",
    "FieldError",
    "FormDialog",
]
