"""A footer that fits the terminal (docs/rules.md#narrow-terminals).

Textual's footer lays every shown key side by side and lets the line run off the right
edge. ``DeskFooter`` keeps the keys in their order as long as they fit, always keeps the
help key (``?`` lists every key, the hidden ones too) and the palette, and goes compact below
``NARROW`` columns. It lays itself out again when the terminal is resized.

Textual's footer builds all its keys anew on every binding signal — a screen's mount,
each focus change, each ``refresh_bindings`` — several times while a screen opens; each
rebuild mounts and styles every key and lays the screen out once more. ``DeskFooter``
looks at most once per refresh, builds the keys anew only when the keys themselves
changed, and when only whether a key is greyed (and why: its tooltip) changed, it updates
the keys it shows in place. In a text field the keys it takes as text are greyed, not
removed, so leaving the field (the search's Enter) enables them in place.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

NARROW = 130  # compact (one column less per key) and short labels below this
ALWAYS = ("help", "app.help")
# Shorter labels for a compact footer; the tooltip, `?` and the palette keep the long ones.
SHORT = {
    "Zeit erfassen": "Zeit",
    "Paket buchen": "Paket",
    "Kunde kontaktieren": "Kontakt",
    "Kunde suchen": "Kundensuche",
    "Antrag ablehnen": "Ablehnen",
    "Aktualisieren": "Neu laden",
}


def key_width(key: FooterKey, compact: bool) -> int:
    """Columns a footer key takes: ' K ' + 'Beschreibung ' and its margin."""
    return len(key.key_display) + len(key.description) + (2 if compact else 3)


def shown_bindings(screen) -> tuple:
    """What a footer shows of ``screen``'s bindings: (key, action, description, group,
    enabled, tooltip) of each shown binding and of the palette's key, in order."""
    palette = screen.app.COMMAND_PALETTE_BINDING
    return tuple(
        (b.key, b.action, b.description, b.group.description if b.group else None, bool(enabled), tooltip)
        for key, (_node, b, enabled, tooltip) in screen.active_bindings.items()
        if b.show or key == palette
    )


def same_keys(a: tuple, b: tuple) -> bool:
    """The same keys (``shown_bindings``), whether greyed or not aside."""
    return [e[:4] for e in a] == [e[:4] for e in b]


class KeptFooter(Footer):
    """Textual's footer, built anew only when its keys change (see the module's doc).

    ``eager``: build the keys with the screen (Textual's footer waits for the screen's first
    bindings signal and then builds and lays them out once more). For a screen whose keys
    are known when it is composed — its data read before the push — and whose first focus
    adds no shown key; the first signal then finds the keys as they are and changes nothing.
    """

    _composed: tuple | None = None  # (width, shown_bindings) the keys on screen were built from
    _pending = False  # a look is asked for after the next refresh

    def __init__(self, *args, eager: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._eager = eager

    def _wanted(self) -> tuple:
        return (self.app.size.width, shown_bindings(self.screen))

    def compose(self):
        if self._eager and not self._bindings_ready and self.app.app_focus:
            self._bindings_ready = True
        if self._bindings_ready:
            self._composed = self._wanted()
        yield from super().compose()

    def bindings_changed(self, screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._show_bindings)

    async def _show_bindings(self) -> None:
        self._pending = False
        if not self.is_attached or self.screen not in self.app.screen_stack:
            return  # the screen is going away (esc)
        wanted, shown = self._wanted(), self._composed
        if wanted == shown:
            return
        if shown is not None and wanted[0] == shown[0] and same_keys(shown[1], wanted[1]):
            self._grey_in_place(wanted[1])
            self._composed = wanted
            return
        typing = self._typing(shown, wanted)
        if typing is not None:
            self._grey_in_place(typing[1])
            self._composed = typing
            return
        await self.recompose()

    def _typing(self, shown: tuple | None, wanted: tuple) -> tuple | None:
        """In a text field Textual drops every key the field takes as text (letters, ``?``):
        those keys stay, greyed, until the focus leaves the field — then they are enabled in
        place, not built anew (a rebuild is ~30 ms of mounting, styling and layout: the
        inbox's ``/`` Enter). None: not typing, or keys other than those changed."""
        from textual.widgets import Input

        if shown is None or wanted[0] != shown[0] or not isinstance(self.screen.focused, Input):
            return None
        still = {entry[:4]: entry for entry in wanted[1]}
        if not still.keys() <= {entry[:4] for entry in shown[1]}:
            return None
        return wanted[0], tuple(still.get(entry[:4], (*entry[:4], False, entry[5])) for entry in shown[1])

    def _grey_in_place(self, bindings: tuple) -> None:
        """Only enabled/tooltip changed: set them on the keys shown (first binding of an action)."""
        first: dict[str, tuple] = {}
        for entry in bindings:
            first.setdefault(entry[1], entry)
        for widget in self.query(FooterKey):
            entry = first.get(widget.action)
            if entry is None:
                continue
            _key, _action, description, _group, enabled, tooltip = entry
            widget._disabled = not enabled
            widget.set_class(not enabled, "-disabled")
            if widget.has_class("-grouped") or widget.has_class("-command-palette"):
                tooltip = tooltip or description
            elif widget.description != description:  # shortened in a compact footer
                tooltip = tooltip or description
            widget.tooltip = tooltip or None


class DeskFooter(KeptFooter):
    """The keys that fit the width, in order; help and palette always (see the module's doc)."""

    def compose(self):
        width = self.app.size.width
        self._composed_width = width
        compact = width < NARROW
        self.compact = compact
        items = list(super().compose())
        if compact:
            for widget in items:
                if isinstance(widget, FooterKey) and widget.description in SHORT:
                    widget.tooltip = widget.tooltip or widget.description
                    widget.description = SHORT[widget.description]
        palette = [w for w in items if w.has_class("-command-palette")]
        keys = [w for w in items if w not in palette]
        room = width - sum(key_width(w, compact) + 1 for w in palette if isinstance(w, FooterKey))
        room -= sum(key_width(w, compact) for w in keys if isinstance(w, FooterKey) and w.action in ALWAYS)
        kept = []
        full = False
        for widget in keys:
            if isinstance(widget, FooterKey) and widget.action in ALWAYS:
                kept.append(widget)
                continue
            needed = key_width(widget, compact) if isinstance(widget, FooterKey) else 12
            full = full or needed > room  # the keys keep their order: none jumps into a gap
            if not full:
                kept.append(widget)
                room -= needed
        yield from kept
        yield from palette

    def on_resize(self) -> None:
        # Only a new terminal width lays the keys out again (not every layout pass).
        if self._bindings_ready and getattr(self, "_composed_width", None) != self.app.size.width:
            self.call_after_refresh(self.recompose)


__all__ = ["DeskFooter", "KeptFooter", "NARROW", "shown_bindings"]
