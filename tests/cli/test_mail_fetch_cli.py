"""``deskapp mail fetch`` against a real IMAP server on 127.0.0.1 (pymap, in-memory backend)
(docs/rules.md#mail-incoming): a message leaves the inbox only after it is stored."""

from __future__ import annotations

import imaplib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.engine import read_session
from models.tables import MailMessage
from tests.support.mails import mail

BIN = Path(sys.executable).parent
USER, PASSWORD = "desk", "geheim-imap"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def imap_server():
    """A pymap IMAP server with one user and an empty INBOX: its port."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN / "pymap"), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict",
         "--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # until it accepts connections (it starts in well under a second)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("pymap did not start")
                time.sleep(0.1)
        yield port
    finally:
        proc.kill()
        proc.wait()


def imap(port: int) -> imaplib.IMAP4:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    return conn


def deliver(port: int, *raws: bytes) -> None:
    conn = imap(port)
    try:
        for raw in raws:
            assert conn.append("INBOX", None, None, raw)[0] == "OK"
    finally:
        conn.logout()


def uids(port: int, folder: str, criterion: str = "ALL") -> list[bytes]:
    conn = imap(port)
    try:
        if conn.select(f'"{folder}"')[0] != "OK":
            return []
        return conn.uid("SEARCH", None, criterion)[1][0].split()
    finally:
        conn.logout()


def fetch_command(db_url, port: int, tmp_path, *extra, done_folder: str = "Desk", lock_wait: str = "15",
                  batch: int | None = None) -> tuple[list[str], dict]:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nuser = "{USER}"\n'
        f'folder = "INBOX"\ndone_folder = "{done_folder}"\ntimeout = 10\n'
        + (f"batch = {batch}\n" if batch is not None else "")
    )
    env = {"PATH": "/usr/bin:/bin", "DESK_SETTINGS_FILE": str(settings), "DESK_IMAP_PASSWORD": PASSWORD}
    argv = [str(BIN / "deskapp"), "mail", "fetch", "--once", "--db", db_url, "--json", "--lock-wait", lock_wait, *extra]
    return argv, env


def fetch(db_url, port: int, tmp_path, *extra, **settings):
    argv, env = fetch_command(db_url, port, tmp_path, *extra, **settings)
    return subprocess.run(argv, capture_output=True, timeout=120, env=env)


def stored(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(MailMessage)).scalar_one()


def test_fetch_stores_each_message_then_moves_it_out_of_the_inbox(db_url, engine, people, imap_server, tmp_path):
    deliver(imap_server, mail(message_id="i1@x"), mail(message_id="i2@x", subject="Zweite"))
    done = fetch(db_url, imap_server, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert (report["stored"], report["duplicates"]) == (2, 0)
    assert stored(engine) == 2
    assert uids(imap_server, "INBOX") == [] and len(uids(imap_server, "Desk")) == 2
    again = fetch(db_url, imap_server, tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["stored"] == 0


def test_without_done_folder_stored_messages_are_marked_seen(db_url, engine, people, imap_server, tmp_path):
    deliver(imap_server, mail(message_id="s1@x"))
    assert fetch(db_url, imap_server, tmp_path, done_folder="").returncode == 0
    assert stored(engine) == 1
    assert len(uids(imap_server, "INBOX")) == 1 and uids(imap_server, "INBOX", "UNSEEN") == []
    deliver(imap_server, mail(message_id="s2@x"))
    second = fetch(db_url, imap_server, tmp_path, done_folder="")
    assert json.loads(second.stdout)["stored"] == 1 and stored(engine) == 2


def test_a_message_that_cannot_be_stored_stays_in_the_inbox(database, db_url, engine, people, imap_server, tmp_path):
    backend, _url, where = database
    if backend != "sqlite":
        pytest.skip("the write lock is held with SQLite's own BEGIN IMMEDIATE")
    deliver(imap_server, mail(message_id="l1@x"))
    holder = sqlite3.connect(str(where), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = fetch(db_url, imap_server, tmp_path, lock_wait="0.5")
    finally:
        holder.rollback()
        holder.close()
    assert locked.returncode == 75 and "bleibt im Postfach" in locked.stderr.decode()
    assert stored(engine) == 0 and len(uids(imap_server, "INBOX")) == 1
    assert fetch(db_url, imap_server, tmp_path).returncode == 0
    assert stored(engine) == 1 and uids(imap_server, "INBOX") == []


def test_an_unreachable_imap_server_answers_75(db_url, engine, people, tmp_path):
    done = fetch(db_url, _free_port(), tmp_path)
    assert done.returncode == 75 and "IMAP-Server" in done.stderr.decode() and b"Traceback" not in done.stderr


def test_a_full_inbox_is_stored_in_its_order_across_several_fetch_batches(db_url, engine, people, imap_server,
                                                                          tmp_path):
    from deskapp.services.mailbox import BATCH_MESSAGES
    from models.tables import Ticket

    count = BATCH_MESSAGES + 12  # more than one FETCH round trip carries
    deliver(imap_server, *(mail(message_id=f"b{i}@x", subject=f"Nachricht {i}") for i in range(count)))
    done = fetch(db_url, imap_server, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["stored"] == count and stored(engine) == count
    with read_session(engine) as s:
        subjects = s.execute(select(Ticket.subject).order_by(Ticket.number)).scalars().all()
    assert subjects == [f"Nachricht {i}" for i in range(count)]
    assert uids(imap_server, "INBOX") == [] and len(uids(imap_server, "Desk")) == count


def test_a_failing_message_stays_with_the_rest_of_its_batch_and_the_ones_before_it_leave(
        database, db_url, engine, people, imap_server, tmp_path):
    backend, _url, where = database
    if backend != "sqlite":
        pytest.skip("the failing insert is an SQLite trigger")
    deliver(imap_server, *(mail(message_id=f"k{i}@x", subject=s)
                           for i, s in enumerate(("Eins", "Zwei", "Kaputt", "Vier"))))
    with sqlite3.connect(str(where)) as db:
        db.execute("CREATE TRIGGER no_kaputt BEFORE INSERT ON mail_message WHEN NEW.subject = 'Kaputt' "
                   "BEGIN SELECT RAISE(ABORT, 'kaputt'); END")
    failed = fetch(db_url, imap_server, tmp_path)  # one batch: the third message fails
    assert failed.returncode == 75 and "bleibt im Postfach" in failed.stderr.decode()
    assert json.loads(failed.stdout)["stored"] == 2 and stored(engine) == 2
    assert len(uids(imap_server, "INBOX")) == 2 and len(uids(imap_server, "Desk")) == 2
    with read_session(engine) as s:  # the failed message left nothing behind (its savepoint)
        from models.tables import Ticket

        assert s.execute(select(func.count()).select_from(Ticket)).scalar_one() == 2
    with sqlite3.connect(str(where)) as db:
        db.execute("DROP TRIGGER no_kaputt")
    again = fetch(db_url, imap_server, tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["stored"] == 2
    assert stored(engine) == 4 and uids(imap_server, "INBOX") == []


def _write_locked(where) -> bool:
    """Whether another connection holds SQLite's write lock (a transaction is open)."""
    probe = sqlite3.connect(str(where), isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_kill_9_in_the_middle_of_a_batch_loses_nothing_and_stores_nothing_twice(
        database, db_url, engine, people, imap_server, tmp_path):
    """docs/rules.md#mail-fetch-batch: the process killed while a batch's transaction is
    open (SQLite: while it holds the write lock, after a first batch was committed); the
    next fetch stores every message exactly once and leaves none in the inbox."""
    backend, _url, where = database
    count, batch = 150, 20
    deliver(imap_server, *(mail(message_id=f"m{i}@x", subject=f"Nachricht {i}") for i in range(count)))
    argv, env = fetch_command(db_url, imap_server, tmp_path, batch=batch)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    killed_at = None
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if stored(engine) >= batch and (backend != "sqlite" or _write_locked(where)):
                os.kill(proc.pid, signal.SIGKILL)
                killed_at = stored(engine)
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None and killed_at is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the fetch ended before it could be killed mid-batch"
    assert killed_at is not None and killed_at < count and killed_at % batch == 0  # whole batches only
    assert len(uids(imap_server, "INBOX")) >= count - killed_at  # nothing uncommitted left the inbox
    again = fetch(db_url, imap_server, tmp_path, batch=batch)
    assert again.returncode == 0, again.stderr.decode()
    assert stored(engine) == count
    with read_session(engine) as s:
        ids = s.execute(select(MailMessage.message_id)).scalars().all()
    assert sorted(ids) == sorted(f"m{i}@x" for i in range(count))  # each exactly once
    assert uids(imap_server, "INBOX") == [] and len(uids(imap_server, "Desk")) == count


def test_a_batch_size_outside_its_range_is_refused(db_url, engine, people, imap_server, tmp_path):
    deliver(imap_server, mail(message_id="z1@x"))
    refused = fetch(db_url, imap_server, tmp_path, batch=0)
    assert refused.returncode != 0 and "[imap] batch" in refused.stderr.decode()
    assert stored(engine) == 0 and len(uids(imap_server, "INBOX")) == 1
