"""The lean start path (deskapp.quickstart) must show exactly what the services show.

The first frame is read with plain sqlite3 before SQLAlchemy is imported; if its SQL
ever drifts from the services' query, agents would see a different first page that
then jumps. These tests pin the two together and cover every case where the lean path
must step aside for the full start (which owns the error messages).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from deskapp import quickstart
from screens.app import DeskApp
from deskapp.services import agents, settings_store, tickets
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.migrate import head_revision
from screens.inbox import InboxScreen
from tests.support.deskdata import NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import settle


@pytest.fixture
def desk(tmp_path, now):
    path = tmp_path / "desk.sqlite3"
    engine = migrated_sqlite_engine(path)
    build_small_desk(engine, now, support_tickets=130)
    yield path, engine
    engine.dispose()


def _service_view(engine, *, os_login, requested):
    with read_session(engine) as session:
        agent, notice = agents.resolve_desk_agent(session, os_login=os_login, requested=requested)
        policy = settings_store.load_policy(session)
        page = tickets.list_page(session, agent, tickets.TicketFilter(), limit=policy.inbox_page_size)
    return agent, notice, page


@pytest.mark.parametrize("login,requested", [("tom", None), ("root", None), ("root", "sara"), ("root", "kai")])
def test_first_page_agent_and_notice_equal_the_services(desk, login, requested):
    path, engine = desk
    quick = quickstart.prepare(str(path), os_login=login, requested=requested)
    assert quick is not None
    agent, notice, page = _service_view(engine, os_login=login, requested=requested)
    assert quick.agent == agent
    assert quick.notice == notice
    assert quick.first_page == page
    assert len(page.rows) == 100 and page.has_after  # a real first page, more behind it


def test_page_size_setting_is_honoured(desk, now):
    path, engine = desk
    with write_session(engine) as session:
        admin = agents.by_login(session, "isabel")
        settings_store.set_setting(session, admin, key="inbox_page_size", value="25", now=now)
    quick = quickstart.prepare(f"sqlite:///{path}", os_login="tom", requested=None)
    assert quick is not None and len(quick.first_page.rows) == 25
    assert quick.overrides == {"inbox_page_size": "25"}
    assert quick.first_page == _service_view(engine, os_login="tom", requested=None)[2]


def test_head_revision_read_from_files_equals_alembic():
    assert quickstart.head_revision() == head_revision()


def test_steps_aside_when_the_full_start_must_explain(desk, tmp_path):
    path, engine = desk
    # unknown agent / --agent on a demo db with an unknown name: the full path says why
    assert quickstart.prepare(str(path), os_login="root", requested="nobody") is None
    # not a file, a server URL, an in-memory database
    assert quickstart.prepare(str(tmp_path / "missing.sqlite3"), os_login="tom", requested=None) is None
    assert quickstart.prepare("postgresql+psycopg://postgres@127.0.0.1/test", os_login="tom", requested=None) is None
    assert quickstart.prepare("sqlite:///:memory:", os_login="tom", requested=None) is None
    # not a demo database: --agent is refused by the full path
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM desk_meta")
    conn.commit()
    assert quickstart.prepare(str(path), os_login="root", requested="tom") is None
    # a schema that is not at head needs the upgrade of the full path
    conn.execute("UPDATE alembic_version SET version_num = '0001'")
    conn.commit()
    conn.close()
    assert quickstart.prepare(str(path), os_login="tom", requested=None) is None


def test_not_a_database_steps_aside(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("this is not a database")
    assert quickstart.prepare(str(junk), os_login="tom", requested=None) is None



def test_first_frame_modules_do_not_import_the_orm():
    """The desk's first frame must not wait for SQLAlchemy/SQLModel/Alembic/pendulum."""
    code = (
        "import sys, screens.cli, deskapp.quickstart, screens.app, screens.inbox\n"
        "screens.cli.build_parser()  # the console script builds every sub-command's parser first\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pendulum') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("argv", [
    [], ["--db", "x.sqlite3"], ["--db=x.sqlite3", "--agent", "tom"], ["--agent=sara", "--db", "sqlite:///x"],
])
def test_the_desk_start_parses_as_the_whole_command_line_does(argv):
    """The desk's own start skips the sub-command modules; its arguments mean the same."""
    import screens.cli as cli

    assert cli.desk_start(argv)
    assert cli.parse_args(argv) == cli.build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["--help"], ["seed", "demo", "--db", "x"], ["--db"], ["--ag", "tom"],
                                  ["--agent", "tom", "budget"]])
def test_anything_else_gets_the_whole_command_line(argv):
    import screens.cli as cli

    assert not cli.desk_start(argv)


def test_the_desk_start_imports_no_command_module_or_dialog():
    """What the desk's start imports before its first frame: no sub-command module (their
    parsers are built only for a command) and none of the inbox's dialogs (opened later)."""
    code = (
        "import sys, screens.cli, deskapp.quickstart, screens.app, screens.inbox\n"
        "screens.cli.parse_args(['--db', 'x.sqlite3', '--agent', 'tom'])\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(('screens.cli.', 'screens.dialogs')))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


async def test_inbox_shows_the_quick_page_before_the_engine_exists(desk):
    """Rows are on screen while the worker is still building the engine; then the
    services take over with the same rows and the detail pane fills in."""
    path, engine = desk
    quick = quickstart.prepare(str(path), os_login="tom", requested=None)
    release = threading.Event()

    def slow_factory():
        release.wait(10)
        return engine

    app = DeskApp(engine_factory=slow_factory, first_page=quick.first_page, agent=quick.agent,
                  policy=Policy(), clock=lambda: NOW, poll=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        table = screen.query_one("#tickets")
        assert table.row_count == 100
        assert screen.page.rows[0] == quick.first_page.rows[0]
        assert screen.current is None  # the detail needs the services: it waits for the engine
        release.set()
        await settle(pilot, quiet_rounds=5)
        assert screen.current is not None and screen.current.row.id == quick.first_page.rows[0].id
        assert table.row_count == 100


async def test_a_frame_dropped_during_a_batch_is_painted_whole_after_it(desk):
    """Textual drops a screen update computed while a batch is open (the footer's first
    recompose at the start is one) after marking it painted: the first frame reached the
    terminal without the ticket rows. The desk paints the whole screen once the batch ends."""
    from textual._compositor import LayoutUpdate

    path, engine = desk
    quick = quickstart.prepare(str(path), os_login="tom", requested=None)
    app = DeskApp(engine=engine, first_page=quick.first_page, agent=quick.agent, policy=Policy(),
                  clock=lambda: NOW, poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        compositor = screen._compositor
        with app.batch_update():
            app._display(screen, compositor.render_update(full=True))  # dropped: a batch is open
        assert isinstance(compositor.render_update(), LayoutUpdate)  # the next update: the whole screen
        assert compositor.render_update() is None  # and only that one


def test_q_in_the_real_desk_restores_the_terminal_and_ends_the_process(desk):
    """The console script's fast exit (DeskApp.action_quit): the process ends with code 0
    and the terminal is back on the main screen, even with workers still busy."""
    from bench.common import child_env, desk_argv
    from bench.terminal import PtyProcess

    path, _engine = desk
    with PtyProcess(desk_argv("--db", str(path), "--agent", "tom"), cols=120, rows=40, env=child_env()) as term:
        term.wait_for("Queues & Ansichten", timeout=60)
        term.wait_for("#", timeout=60)
        since = term.mark()
        term.send("q")  # at once: the warm-up worker is typically still importing
        assert term.wait_exit(30) is not None
        term._reader.join(2)
        assert term.proc.returncode == 0
        assert term.raw_at(b"\x1b[?1049l", since=since) is not None  # left the alternate screen
