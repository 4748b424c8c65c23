"""The desk's footer: greyed keys follow the screen at once, without building the keys anew."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from screens.footer import DeskFooter


class Keys(Screen):
    BINDINGS = [
        Binding("a", "take", "Übernehmen"),
        Binding("x", "close", "Schließen"),
    ]
    may_take = True
    extra = False

    def compose(self):
        yield Static("Inhalt")
        yield DeskFooter()

    def check_action(self, action, parameters):
        if action == "take":
            return True if self.may_take else None
        return True

    def action_take(self) -> None:
        pass

    def action_close(self) -> None:
        pass


class FooterApp(App):
    def on_mount(self) -> None:
        self.push_screen(Keys())


def _keys(screen) -> dict[str, FooterKey]:
    return {k.action: k for k in screen.query(FooterKey)}


async def test_a_key_greyed_later_is_greyed_in_place_and_enabled_again():
    app = FooterApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        screen = app.screen
        before = _keys(screen)
        assert not before["take"].has_class("-disabled")

        screen.may_take = False
        screen.refresh_bindings()
        await pilot.pause()
        after = _keys(screen)
        assert after["take"] is before["take"]  # the same key widget, not a new footer
        assert after["take"].has_class("-disabled") and after["take"]._disabled
        assert not after["close"].has_class("-disabled")
        await pilot.press("a")  # a greyed key does nothing

        screen.may_take = True
        screen.refresh_bindings()
        await pilot.pause()
        assert not _keys(screen)["take"].has_class("-disabled")


async def test_new_keys_build_the_footer_anew():
    app = FooterApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen._bindings.bind("n", "note", "Notiz")
        screen.refresh_bindings()
        await pilot.pause()
        assert "Notiz" in [k.description for k in screen.query(FooterKey)]


class Typing(Keys):
    def compose(self):
        yield Input(id="field")
        yield Static("Inhalt")
        yield DeskFooter()


class TypingApp(App):
    def on_mount(self) -> None:
        self.push_screen(Typing())


async def test_keys_a_text_field_takes_as_text_are_greyed_while_it_has_focus():
    """In the field ``a`` and ``x`` are text (Textual drops those keys): the footer keeps
    them, greyed, and enables the same keys again when the focus leaves the field (the
    inbox's search: ``/`` word Enter)."""
    app = TypingApp()
    async with app.run_test(size=(120, 10)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.set_focus(None)
        await pilot.pause()
        before = _keys(screen)
        assert not before["take"].has_class("-disabled") and not before["close"].has_class("-disabled")
        screen.query_one("#field", Input).focus()
        await pilot.pause()
        await pilot.pause()
        typing = _keys(screen)
        assert typing["take"].has_class("-disabled") and typing["close"].has_class("-disabled")
        await pilot.press("a")
        assert screen.query_one("#field", Input).value == "a"  # text, not the key's action
        screen.set_focus(None)
        await pilot.pause()
        await pilot.pause()
        after = _keys(screen)
        assert not after["take"].has_class("-disabled") and not after["close"].has_class("-disabled")
        assert after["take"] is before["take"]  # the same keys, not built anew
