"""A footer that fits the terminal (docs/rules.md#narrow-terminals).

Textual's footer lays every shown key side by side and lets the line run off the right
edge. ``DeskFooter`` keeps the keys in their order as long as they fit, always keeps the
help key (``?`` lists every key, the hidden ones too) and the palette, and goes compact below
``NARROW`` columns. It lays itself out again when the terminal is resized.
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
    """What the footer is made of for ``screen``: each key, its label, state and tooltip
    (the hidden ones too: the palette's key is one)."""
    return tuple(
        (binding.key, binding.action, binding.description, binding.show, enabled, tooltip, binding.group)
        for (_, binding, enabled, tooltip) in screen.active_bindings.values()
    )


class DeskFooter(Footer):
    _shown: tuple | None = None  # the bindings the keys were last composed from
    _pending = False  # a rebuild is asked for after the next refresh

    def bindings_changed(self, screen) -> None:
        """Rebuild the keys once per refresh, and only when what they show changed.

        Textual's footer recomposes on every binding signal — a screen's mount, each focus
        change and each ``refresh_bindings`` — several times while a screen opens; each
        rebuild mounts and styles every key again and lays the screen out once more.
        """
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._pending = False
        if not self.is_attached or self.screen not in self.app.screen_stack:
            return  # the screen is going away (esc)
        if self._shown is not None and shown_bindings(self.screen) == self._shown:
            return
        await self.recompose()

    def compose(self):
        width = self.app.size.width
        self._composed_width = width
        self._shown = shown_bindings(self.screen) if self._bindings_ready else None
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


__all__ = ["DeskFooter", "NARROW"]
