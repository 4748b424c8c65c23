"""One policy setting (admin): its meaning, default and value now, and the new value.

The value is checked with the service's parser before anything is sent (a negative limit,
0 months, text for a number: the German message shows under the field); the checks that
need the other settings (the working day starts before it ends, …) run in the service's
transaction and land under the same field.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.services import policy_admin
from deskapp.services.errors import InvalidInput

from ..forms import FieldError, FormDialog


class SettingForm(FormDialog):
    """The new value of one setting; ``SettingChange`` back on save."""

    AUTO_FOCUS = "#value"
    INVALID_FIELD = "value"  # every refusal of the service is about this one value
    ENTER_ORDER = ("value",)

    def __init__(self, setting: policy_admin.SettingView) -> None:
        super().__init__()
        self.setting = setting

    def compose(self) -> ComposeResult:
        s = self.setting
        with Vertical(classes="dialog"):
            yield Label(f"Einstellung {s.key}", classes="title")
            yield Static(s.description, classes="explain")
            yield Static(f"Art: {s.kind} · Standard: {s.default or '(leer)'}", classes="explain", id="default")
            yield from self.field_row(
                "Wert", "value",
                Input(s.value, placeholder=s.kind, max_length=policy_admin.MAX_VALUE + 1, id="value"),
            )
            yield Static("", id="form-error")
            yield Static("Enter oder Strg+S speichern · Esc abbrechen", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()

    def prepare(self):
        key = self.setting.key
        value = self.query_one("#value", Input).value
        try:
            policy_admin.parse_value(key, value)
        except InvalidInput as exc:
            raise FieldError("value", exc.message) from None
        app = self.app
        agent, now = app.agent, app.now()

        def job(session):
            return policy_admin.set_setting(session, agent, key=key, value=value, now=now)

        return job


__all__ = ["SettingForm"]
