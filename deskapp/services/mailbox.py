"""The IMAP mailbox ``deskapp mail fetch`` collects from (docs/rules.md#mail-incoming).

Settings: the ``[imap]`` table of the settings file, the password from the environment
only (never a file, never the database)::

    [imap]
    host = "imap.example"     # DESK_IMAP_HOST (no host: nothing to fetch)
    port = 993                # DESK_IMAP_PORT (default 993 with tls, else 143)
    security = "tls"          # tls | starttls | none
    user = "support@example"  # DESK_IMAP_USER
    folder = "INBOX"          # where the customer's mail arrives
    done_folder = "Desk"      # stored messages are moved here; empty: marked \\Seen instead
    timeout = 30              # seconds per IMAP operation
    batch = 50                # messages per FETCH and per database transaction (1–500)
    # password: DESK_IMAP_PASSWORD

A message leaves ``folder`` (or is marked seen) only after ``done`` is called for it, which
the caller does after the message is stored — after the commit of its batch's transaction,
one ``UID MOVE`` of the batch (docs/rules.md#mail-fetch-batch): a crash in between fetches
it again, and the duplicate Message-ID stores it once (docs/rules.md#mail-duplicate).

A network client like ``registry``: no database, no other service.
"""

from __future__ import annotations

import imaplib
import os
import re
import ssl
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..settings import settings_file_path
from .errors import DeskError, InvalidInput

TABLE = "imap"
ENV_HOST = "DESK_IMAP_HOST"
ENV_PORT = "DESK_IMAP_PORT"
ENV_USER = "DESK_IMAP_USER"
ENV_PASSWORD = "DESK_IMAP_PASSWORD"
SECURITY = ("tls", "starttls", "none")
DEFAULT_TIMEOUT = 30.0
# One FETCH, and one database transaction of ``deskapp mail fetch``, carries at most this
# many messages / bytes (the pass's memory bound; on SQLite the write lock is held for one
# batch's stores, ~1 ms per message). ``[imap] batch`` sets the count.
BATCH_MESSAGES = 50
BATCH_RANGE = (1, 500)
BATCH_BYTES = 8 * 1024 * 1024

MSG_BAD_FILE = "Die Einstellungsdatei {path} ist kein gültiges TOML: {error}"
MSG_BAD_VALUE = "[imap] {key} = {value!r} passt nicht (erlaubt: {allowed})."
MSG_NO_PASSWORD = "Für den IMAP-Zugang fehlt das Passwort (Umgebungsvariable DESK_IMAP_PASSWORD)."
MSG_IMAP = "IMAP-Server {host}:{port}: {error}"


class MailboxError(DeskError):
    """The IMAP server could not be reached or refused; nothing was taken from it."""

    exit_code = 75


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str = "tls"
    user: str = ""
    password: str = ""
    folder: str = "INBOX"
    done_folder: str = ""
    timeout: float = DEFAULT_TIMEOUT
    batch: int = BATCH_MESSAGES


def imap_config(path: Path | None = None) -> ImapConfig | None:
    """The ``[imap]`` settings with the environment's overrides; None without a host."""
    path = path or settings_file_path()
    table: dict = {}
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get(TABLE) or {}
    except FileNotFoundError:
        table = {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(MSG_BAD_FILE.format(path=path, error=exc)) from None
    except OSError:
        table = {}
    host = os.environ.get(ENV_HOST, "").strip() or str(table.get("host", "")).strip()
    if not host:
        return None
    security = str(table.get("security", "tls")).strip().lower()
    if security not in SECURITY:
        raise InvalidInput(MSG_BAD_VALUE.format(key="security", value=security, allowed=", ".join(SECURITY)))
    port_raw = os.environ.get(ENV_PORT, "").strip() or table.get("port") or (993 if security == "tls" else 143)
    try:
        port = int(port_raw)
    except (TypeError, ValueError):
        raise InvalidInput(MSG_BAD_VALUE.format(key="port", value=port_raw, allowed="1–65535")) from None
    user = os.environ.get(ENV_USER, "").strip() or str(table.get("user", "")).strip()
    password = os.environ.get(ENV_PASSWORD, "")
    if user and not password:
        raise InvalidInput(MSG_NO_PASSWORD)
    batch_raw = table.get("batch", BATCH_MESSAGES)
    low, high = BATCH_RANGE
    if isinstance(batch_raw, bool) or not isinstance(batch_raw, int) or not low <= batch_raw <= high:
        raise InvalidInput(MSG_BAD_VALUE.format(key="batch", value=batch_raw, allowed=f"{low}–{high}"))
    return ImapConfig(
        host=host, port=port, security=security, user=user, password=password,
        folder=str(table.get("folder", "INBOX")) or "INBOX", done_folder=str(table.get("done_folder", "")),
        timeout=float(table.get("timeout", DEFAULT_TIMEOUT)), batch=batch_raw,
    )


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    """One IMAP session on ``config.folder``: ``pending()`` UIDs, ``read(uid)`` the raw
    message, ``done(uid)`` after it is stored. Every server problem is a ``MailboxError``."""

    def __init__(self, config: ImapConfig):
        self.config = config
        self.conn: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()

    def __enter__(self) -> "Mailbox":
        c = self.config
        try:
            if c.security == "tls":
                self.conn = imaplib.IMAP4_SSL(c.host, c.port, ssl_context=ssl.create_default_context(),
                                              timeout=c.timeout)
            else:
                self.conn = imaplib.IMAP4(c.host, c.port, timeout=c.timeout)
                if c.security == "starttls":
                    self.conn.starttls(ssl.create_default_context())
            if c.user:
                self.conn.login(c.user, c.password)
            # imaplib keeps the greeting's list; a server may offer more after login.
            typ, data = self.conn.capability()
            self.capabilities = set(self.conn.capabilities)
            if typ == "OK" and data and isinstance(data[0], bytes):
                self.capabilities |= set(data[0].decode("ascii", "replace").upper().split())
            self._ok(self.conn.select(_quote(c.folder)))
            if c.done_folder:
                self.conn.create(_quote(c.done_folder))  # an existing folder answers NO: fine
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            self._close()
            raise self._error(exc) from None
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _close(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.logout()
        except Exception:  # a connection already gone has nothing left to close
            pass
        self.conn = None

    def _error(self, exc: Exception) -> MailboxError:
        detail = str(exc).strip() or type(exc).__name__
        return MailboxError(MSG_IMAP.format(host=self.config.host, port=self.config.port, error=detail))

    @staticmethod
    def _ok(answer) -> list:
        typ, data = answer
        if typ != "OK":
            raise imaplib.IMAP4.error(b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace"))
        return data

    def _call(self, *args):
        try:
            return self._ok(self.conn.uid(*args))
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise self._error(exc) from None

    def pending(self) -> list[bytes]:
        """The UIDs waiting in the folder, oldest first (not yet seen, when stored
        messages are marked instead of moved)."""
        criterion = "ALL" if self.config.done_folder else "UNSEEN"
        data = self._call("SEARCH", None, criterion)
        return [uid for uid in (data[0] or b"").split()] if data else []

    def read(self, uid: bytes) -> bytes:
        """The message as the server keeps it (``BODY.PEEK[]``: reading does not mark it seen)."""
        data = self._call("FETCH", uid, "(BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        raise self._error(imaplib.IMAP4.error(f"UID {uid.decode()} nicht gefunden"))

    def batches(self, uids: list[bytes], *, max_count: int | None = None, max_bytes: int = BATCH_BYTES):
        """Lists of ``(uid, raw)`` covering ``uids`` in order, fetched in few round trips:
        one ``FETCH`` of the sizes, then one ``FETCH`` per batch of at most ``max_count``
        messages (default ``config.batch``) and ``max_bytes`` (a single larger message is
        a batch of its own), so a pass over a full folder does not wait on the server once
        per message and never holds more than one batch in memory. A message the batch
        answer lacks is read on its own."""
        if not uids:
            return
        max_count = max_count or self.config.batch
        sizes = self._sizes(uids)
        batch: list[bytes] = []
        held = 0
        for uid in uids:
            size = sizes.get(uid, 0)
            if batch and (len(batch) >= max_count or held + size > max_bytes):
                yield list(self._fetch_batch(batch))
                batch, held = [], 0
            batch.append(uid)
            held += size
        if batch:
            yield list(self._fetch_batch(batch))

    def _sizes(self, uids: list[bytes]) -> dict[bytes, int]:
        data = self._call("FETCH", b",".join(uids).decode("ascii"), "(RFC822.SIZE)")
        sizes = {}
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes):
                uid, size = _UID.search(line), _SIZE.search(line)
                if uid and size:
                    sizes[uid.group(1)] = int(size.group(1))
        return sizes

    def _fetch_batch(self, batch: list[bytes]):
        data = self._call("FETCH", b",".join(batch).decode("ascii"), "(BODY.PEEK[])")
        found: dict[bytes, bytes] = {}
        pending: bytes | None = None  # a literal whose UID follows it (``BODY[] {n} … UID 7)``)
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                uid = _UID.search(item[0]) if isinstance(item[0], bytes) else None
                if uid:
                    found[uid.group(1)] = item[1]
                    pending = None
                else:
                    pending = item[1]
            elif isinstance(item, bytes) and pending is not None:
                uid = _UID.search(item)
                if uid:
                    found[uid.group(1)] = pending
                pending = None
        for uid in batch:
            yield uid, found[uid] if uid in found else self.read(uid)

    def done(self, uid: bytes | list[bytes]) -> None:
        """The message is stored: move it to ``done_folder`` (or mark it seen). A list of
        UIDs (a batch whose transaction committed) is moved in one command."""
        if isinstance(uid, list):
            if not uid:
                return
            uid = b",".join(uid)
        if not self.config.done_folder:
            self._call("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
            return
        target = _quote(self.config.done_folder)
        if "MOVE" in self.capabilities:
            self._call("MOVE", uid, target)
            return
        # Without MOVE: copy first, then remove the original (it is stored twice by then).
        self._call("COPY", uid, target)
        self._call("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.capabilities:
            self._call("EXPUNGE", uid)
        else:
            try:
                self._ok(self.conn.expunge())
            except (OSError, imaplib.IMAP4.error) as exc:
                raise self._error(exc) from None


__all__ = ["BATCH_MESSAGES", "ImapConfig", "Mailbox", "MailboxError", "imap_config"]
