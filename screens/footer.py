"""A footer that fits the terminal (docs/rules.md#narrow-terminals).

Textual's footer lays every shown key side by side and lets the line run off the right
edge. ``DeskFooter`` keeps the keys in their order as long as they fit, always keeps the
help key (``?`` lists every key, the hidden ones too) and the palette, and goes compact below
``NARROW`` columns. It lays itself out again when the terminal is resized.

Textual's footer builds all its keys anew whenever the screen's bindings are refreshed
(every focus change, every ``refresh_bindings``), which costs a CSS pass over every key.
``DeskFooter`` builds them anew only when the keys themselves change; when only whether a
key is greyed (and why: its tooltip) changed, it updates the keys it shows in place.
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


def _shown_bindings(screen) -> tuple:
    """What the footer shows of ``screen``'s bindings: (key, action, description, group,
    enabled, tooltip) of each shown binding, in order."""
    palette = screen.app.COMMAND_PALETTE_BINDING
    return tuple(
        (b.key, b.action, b.description, b.group.description if b.group else None, bool(enabled), tooltip)
        for key, (_node, b, enabled, tooltip) in screen.active_bindings.items()
        if b.show or key == palette
    )


class DeskFooter(Footer):
    _composed: tuple | None = None  # (width, _shown_bindings) the keys on screen were built from

    def compose(self):
        width = self.app.size.width
        self._composed_width = width
        if self._bindings_ready:
            self._composed = (width, _shown_bindings(self.screen))
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

    def bindings_changed(self, screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._show_bindings)

    async def _show_bindings(self) -> None:
        if not self.is_attached:
            return
        wanted = (self.app.size.width, _shown_bindings(self.screen))
        shown = self._composed
        if wanted == shown:
            return
        if shown is not None and _same_keys(shown, wanted):
            self._grey_in_place(wanted[1])
            self._composed = wanted
            return
        await self.recompose()

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
            if widget.has_class("-grouped"):
                tooltip = tooltip or description
            elif widget.description != description:  # shortened in a compact footer
                tooltip = tooltip or description
            elif widget.has_class("-command-palette"):
                tooltip = tooltip or description
            widget.tooltip = tooltip or None

    def on_resize(self) -> None:
        # Only a new terminal width lays the keys out again (not every layout pass).
        if self._bindings_ready and getattr(self, "_composed_width", None) != self.app.size.width:
            self.call_after_refresh(self.recompose)


def _same_keys(a: tuple, b: tuple) -> bool:
    """The same width and the same keys, whether greyed or not aside."""
    return a[0] == b[0] and [e[:4] for e in a[1]] == [e[:4] for e in b[1]]


__all__ = ["DeskFooter", "NARROW"]
