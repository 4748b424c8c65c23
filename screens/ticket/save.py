"""Where an attachment is saved: a path, ``~/Downloads/<name>`` (or the working directory)
proposed; an existing file is never overwritten, a missing folder is said."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from ..forms import DialogScreen

MSG_EXISTS = "Die Datei {path} gibt es schon; bitte einen anderen Namen wählen."
MSG_NO_FOLDER = "Den Ordner {folder} gibt es nicht."
MSG_EMPTY = "Bitte einen Dateinamen angeben."


def default_path(filename: str, index: int) -> Path:
    """``~/Downloads/<name>`` when that folder exists, else the working directory; a free name."""
    name = (filename or "").strip().replace("/", "_").replace("\\", "_") or f"anhang-{index}"
    downloads = Path.home() / "Downloads"
    folder = downloads if downloads.is_dir() else Path.cwd()
    path = folder / name
    stem, suffix, n = path.stem, path.suffix, 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


def path_problem(text: str) -> str:
    """'' if a new file can be written at ``text``, else the German reason."""
    if not text.strip():
        return MSG_EMPTY
    path = Path(text.strip()).expanduser()
    if path.exists():
        return MSG_EXISTS.format(path=path)
    if not path.parent.is_dir():
        return MSG_NO_FOLDER.format(folder=path.parent)
    return ""


class SaveAttachmentDialog(DialogScreen):
    """The path to save attachment ``index`` to; the result is a ``Path`` or None."""

    AUTO_FOCUS = "#path"
    BINDINGS = [
        Binding("ctrl+s", "save", "Speichern", priority=True),
        Binding("escape", "cancel", "Abbrechen"),
    ]

    def __init__(self, filename: str, index: int) -> None:
        super().__init__()
        self._filename = filename
        self._index = index

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Anhang {self._index} speichern: {self._filename or '(ohne Namen)'}", classes="title")
            yield Input(str(default_path(self._filename, self._index)), id="path")
            yield Static("", id="error", classes="hint")
            yield Static("Enter oder Strg+S speichern · Esc abbrechen", classes="hint")

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        text = self.query_one("#path", Input).value
        problem = path_problem(text)
        if problem:
            self.query_one("#error", Static).update(f"[b $error]{problem}[/]")
            return
        self.dismiss(Path(text.strip()).expanduser())

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["SaveAttachmentDialog", "default_path", "path_problem"]
