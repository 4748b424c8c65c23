"""The command line's one error boundary: every failure is an exit code and one German line.

``guarded(run, argv)`` runs a command (``run(argv) -> exit code``) so that

* arguments with bytes that are not UTF-8 are refused before anything runs (exit 2);
* a ``DeskError`` (a refusal) is its message and its exit code;
* a locked or busy database (SQLite "database is locked", PostgreSQL lock timeout) is
  exit 3 with what to do; any other database error is exit 3 with what the driver said;
* anything unexpected is exit 7: one German line naming the log file that holds the
  traceback; the terminal never shows one;
* everything the command prints goes through ``deskapp.formatting.inert``: a control
  character in a customer's name or an order's item reaches the terminal as a visible
  placeholder, never as an escape sequence (docs/rules.md#inert-text).

Exit codes (docs in ``screens.cli.EPILOG`` and the README): 0 done · 1 refused ·
2 bad input/usage · 3 database problem (missing, locked, unreadable setting) ·
4 agent unknown or not allowed · 5 conflict · 6 registry failed · 7 unexpected error ·
75 mail not stored, try again (``mail receive``/``fetch``) · 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

EXIT_OK, EXIT_REFUSED, EXIT_INPUT, EXIT_DATABASE = 0, 1, 2, 3
EXIT_UNEXPECTED = 7
EXIT_TEMPFAIL = 75  # mail receive/fetch: not stored, the mail server tries again (sysexits EX_TEMPFAIL)
EXIT_INTERRUPTED = 130
# Every exit code a command may end with (the fault tests hold the CLI to this set).
EXIT_CODES = frozenset({0, 1, 2, 3, 4, 5, 6, EXIT_UNEXPECTED, EXIT_TEMPFAIL, EXIT_INTERRUPTED})

MSG_NOT_UTF8 = (
    "Die Angabe »{shown}« enthält Bytes, die kein UTF-8 sind; bitte als UTF-8-Text angeben."
)
MSG_LOCKED = (
    "Die Datenbank ist gerade gesperrt: eine andere Sitzung schreibt noch ({detail}). "
    "Nichts wurde geändert; bitte in einigen Sekunden erneut versuchen. Bleibt die Sperre, "
    "das hängende Programm (Desk, cron-Lauf) beenden."
)
MSG_DATABASE = "Datenbankfehler: {detail} Nichts wurde geändert."
MSG_UNEXPECTED = (
    "Unerwarteter Fehler ({kind}); der Befehl wurde abgebrochen. Die Einzelheiten stehen in {log} – "
    "bitte mit dieser Datei an den Support."
)
MSG_UNEXPECTED_NO_LOG = "Unerwarteter Fehler ({kind}: {detail}); der Befehl wurde abgebrochen."
MSG_OUTPUT = "Die Ausgabe konnte nicht geschrieben werden ({detail})."

_LOCK_WORDS = ("database is locked", "database is busy", "database table is locked", "lock timeout",
               "lock_timeout", "could not obtain lock", "deadlock detected")
_LOCK_SQLSTATES = ("55P03", "40P01")


def _fail(message: str, code: int) -> int:
    from deskapp.formatting import inert

    stream = sys.stderr
    try:
        stream.write(f"deskapp: Fehler: {inert(message, keep_newlines=True)}\n")
        stream.flush()
    except (OSError, ValueError):
        pass
    return code


def check_argv(argv: Sequence[str]) -> str | None:
    """The German refusal for an argument holding undecodable bytes (``surrogateescape``)."""
    from deskapp.formatting import inert

    for arg in argv:
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = "".join(f"\\x{ord(ch) - 0xDC00:02x}" if "\udc80" <= ch <= "\udcff" else ch for ch in arg)
            return MSG_NOT_UTF8.format(shown=inert(shown[:80]))
    return None


def is_lock_error(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in _LOCK_SQLSTATES:
        return True
    text = str(orig).lower()
    return any(word in text for word in _LOCK_WORDS)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def log_path() -> Path:
    """Where unexpected errors are logged: ``DESK_LOG_FILE``, else the user's log directory."""
    import os

    override = os.environ.get("DESK_LOG_FILE", "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_log_dir

    return Path(user_log_dir("deskapp", appauthor=False)) / "deskapp.log"


def log_unexpected(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """Append the traceback to the log file; its path, or None if it cannot be written."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"--- {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} "
                     f"deskapp {' '.join(repr(a) for a in argv)}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return path


class InertStream:
    """A text stream whose writes pass ``inert`` (line feeds and tabs kept)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from deskapp.formatting import inert

        self._stream.write(inert(text, keep_newlines=True))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def raw_output() -> None:
    """Undo ``InertStream`` for a full-screen or progress-bar command (it writes escapes itself
    and shows outside text through the desk's widgets, which make it inert)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, InertStream):
            setattr(sys, name, stream._stream)


def guarded(run: Callable[[list[str]], int], argv: Sequence[str], *, inert_output: bool = True) -> int:
    """``run(argv)`` inside the boundary; always an exit code from ``EXIT_CODES``.

    Imports nothing heavy up front: the desk's first frame comes before SQLAlchemy is imported.
    """
    argv = list(argv)
    refusal = check_argv(argv)
    if refusal:
        return _fail(refusal, EXIT_INPUT)
    saved = sys.stdout, sys.stderr
    if inert_output:
        sys.stdout, sys.stderr = InertStream(sys.stdout), InertStream(sys.stderr)
    try:
        code = run(argv)
        if code not in EXIT_CODES:  # a handler's own code outside the documented set
            return EXIT_UNEXPECTED
        return code
    except SystemExit:  # argparse: --help (0) and usage errors (2, one German line already)
        raise
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # ``deskapp … | head``: the reader is gone; nothing to say
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure one line and a code
        return _answer(exc, argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        if inert_output:
            sys.stdout, sys.stderr = saved


def _answer(exc: Exception, argv: Sequence[str]) -> int:
    """The exit code and German line for a failure that reached the boundary."""
    from deskapp.services.errors import DeskError
    from deskapp.settings import BadSetting

    if isinstance(exc, (DeskError, BadSetting)):
        return _fail(exc.message, exc.exit_code)
    if "sqlalchemy.exc" in sys.modules:  # a database error can only come from a loaded SQLAlchemy
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):  # the driver's errors: locked, I/O, constraint, connection
            if is_lock_error(exc):
                return _fail(MSG_LOCKED.format(detail=_first_line(exc)), EXIT_DATABASE)
            return _fail(MSG_DATABASE.format(detail=_first_line(exc).rstrip(".") + "."), EXIT_DATABASE)
    if isinstance(exc, UnicodeEncodeError) and any("\ud800" <= ch <= "\udfff" for ch in exc.object or ""):
        return _fail(MSG_NOT_UTF8.format(shown="…"), EXIT_INPUT)
    return _unexpected(exc, argv)


def _unexpected(exc: BaseException, argv: Sequence[str]) -> int:
    where = log_unexpected(exc, argv)
    if where is None:
        return _fail(MSG_UNEXPECTED_NO_LOG.format(kind=type(exc).__name__, detail=str(exc)[:200]), EXIT_UNEXPECTED)
    return _fail(MSG_UNEXPECTED.format(kind=type(exc).__name__, log=where), EXIT_UNEXPECTED)
