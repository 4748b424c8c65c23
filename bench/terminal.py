"""A program in a real pseudo-terminal, and its output as a timed stream of chunks.

The benchmark sees the desk the way an agent's terminal does: the child gets the slave
side of a pty (window size set with TIOCSWINSZ before it starts, TERM=xterm-256color,
its own session with the pty as controlling terminal); a reader thread timestamps every
chunk that arrives on the master side with ``time.perf_counter()``.

Everything here is measured from the output stream alone, no hooks inside the app:

* ``wait_for(text)`` — the first moment the *visible text* of the stream (escape
  sequences removed) contains ``text`` after a given chunk index;
* ``settle(since)`` — the first output after ``since`` and the last byte before the
  stream has been quiet for ``quiet`` seconds. "Settled" is that last byte, i.e. the
  quiet window itself is not counted.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import signal
import struct
import subprocess
import termios
import threading
import time
from dataclasses import dataclass

# CSI (ESC [ … final), OSC (ESC ] … BEL/ST), DCS/APC/PM (ESC P/_/^ … ST), other 2-byte ESC.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^][^\x1b]*\x1b\\"
    r"|\x1b[@-Z\\-_]"
    r"|\x1b[()][0-9A-Za-z]"
)

KEYS = {
    "down": "\x1b[B",
    "up": "\x1b[A",
    "pagedown": "\x1b[6~",
    "pageup": "\x1b[5~",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "enter": "\r",
    "escape": "\x1b",
    "tab": "\t",
    "ctrl+s": "\x13",
    "ctrl+r": "\x12",
}


def visible(data: str) -> str:
    """The text of a chunk of terminal output without its escape sequences."""
    return _ESCAPES.sub("", data)


@dataclass
class Chunk:
    at: float  # perf_counter() when the read returned
    raw: bytes
    text: str  # visible text (decoded, escapes removed)


class Timeout(Exception):
    pass


class PtyProcess:
    """``argv`` running on a fresh pty of ``cols`` x ``rows``."""

    def __init__(self, argv: list[str], *, cols: int = 120, rows: int = 40, env: dict | None = None,
                 cwd: str | None = None) -> None:
        self.argv = argv
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ if env is None else env)
        full_env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        full_env.pop("TEXTUAL", None)  # no devtools
        self.chunks: list[Chunk] = []
        self._cond = threading.Condition()
        self._closed = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""  # an escape sequence cut at a chunk border

        def controlling_tty() -> None:  # in the child, before exec
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=full_env, cwd=cwd,
            preexec_fn=controlling_tty, close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.exited_at: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -------------------------------------------------------------- reading

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the slave side
                data = b""
            at = time.perf_counter()
            if not data:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            text = self._tail + self._decoder.decode(data)
            # Keep an unfinished escape sequence for the next chunk.
            cut = text.rfind("\x1b")
            if cut != -1 and not _ESCAPES.match(text, cut) and len(text) - cut < 64:
                text, self._tail = text[:cut], text[cut:]
            else:
                self._tail = ""
            with self._cond:
                self.chunks.append(Chunk(at, data, visible(text)))
                self._cond.notify_all()

    def mark(self) -> int:
        """Index of the next chunk: ``wait_for``/``settle`` look only at chunks from here."""
        with self._cond:
            return len(self.chunks)

    def text_since(self, index: int) -> str:
        with self._cond:
            return "".join(c.text for c in self.chunks[index:])

    def wait_for(self, text: str, *, since: int = 0, timeout: float = 30.0) -> float:
        """Time (perf_counter) of the chunk with which the visible text since ``since`` first contains ``text``."""
        deadline = time.perf_counter() + timeout
        seen = ""
        i = since
        with self._cond:
            while True:
                while i < len(self.chunks):
                    seen += self.chunks[i].text
                    if text in seen:
                        return self.chunks[i].at
                    seen = seen[-(len(text) + 4096):]
                    i += 1
                if self._closed:
                    raise Timeout(f"process ended before {text!r} appeared")
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise Timeout(f"{text!r} did not appear within {timeout:.1f} s")
                self._cond.wait(left)

    def raw_at(self, data: bytes, *, since: int = 0) -> float | None:
        """Time of the first chunk from ``since`` on whose raw bytes contain ``data`` (no waiting)."""
        with self._cond:
            for chunk in self.chunks[since:]:
                if data in chunk.raw:
                    return chunk.at
        return None

    def rss_kb(self) -> int | None:
        """VmRSS of the process now, in kB."""
        return self._status_kb("VmRSS:")

    def settle(self, *, since: int, quiet: float, timeout: float = 10.0, first_timeout: float | None = None,
               ) -> tuple[float, float] | None:
        """(first output, last byte before ``quiet`` s of silence) after chunk ``since``.

        None when nothing at all arrives within ``first_timeout`` (default: ``timeout``).
        """
        deadline = time.perf_counter() + timeout
        first_deadline = time.perf_counter() + (timeout if first_timeout is None else first_timeout)
        with self._cond:
            while len(self.chunks) <= since:
                left = first_deadline - time.perf_counter()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)
            first = self.chunks[since].at
            while True:
                last = self.chunks[-1].at
                now = time.perf_counter()
                if now - last >= quiet or self._closed:
                    return first, last
                if now > deadline:
                    raise Timeout(f"output did not go quiet for {quiet * 1000:.0f} ms within {timeout:.1f} s")
                self._cond.wait(quiet - (now - last) + 0.001)

    def quiet(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until nothing has been written for ``quiet`` seconds."""
        deadline = time.perf_counter() + timeout
        with self._cond:
            while True:
                last = self.chunks[-1].at if self.chunks else self.started
                now = time.perf_counter()
                if now - last >= quiet or self._closed:
                    return
                if now > deadline:
                    raise Timeout(f"never quiet for {quiet * 1000:.0f} ms within {timeout:.1f} s")
                self._cond.wait(quiet - (now - last) + 0.001)

    # -------------------------------------------------------------- writing

    def send(self, keys: str) -> float:
        """Write ``keys`` (a name from KEYS or literal text) to the terminal; returns the send time."""
        data = KEYS.get(keys, keys).encode()
        at = time.perf_counter()
        os.write(self.master, data)
        return at

    def type(self, text: str, pause: float = 0.02) -> None:
        for ch in text:
            self.send(ch)
            time.sleep(pause)

    # -------------------------------------------------------------- the process

    def peak_rss_kb(self) -> int | None:
        """VmHWM of the process (peak resident set size), in kB."""
        return self._status_kb("VmHWM:")

    def _status_kb(self, field: str) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status") as fh:
                for line in fh:
                    if line.startswith(field):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def wait_exit(self, timeout: float = 10.0) -> float | None:
        """perf_counter() when the process was seen gone (polled every 1 ms), or None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                self.exited_at = time.perf_counter()
                return self.exited_at
            time.sleep(0.001)
        return None

    def close(self) -> None:
        """Make sure the child is gone and the pty closed."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(3)
        self._reader.join(2)
        try:
            os.close(self.master)
        except OSError:
            pass

    def __enter__(self) -> PtyProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
