"""The one place where a failed thread worker becomes a German notice.

Every screen mixes in ``WorkerNotices`` (before ``Screen``). A worker that raises ends in
``WorkerState.ERROR``; ``on_worker_state_changed`` below says so once:

- a ``DeskError`` carries its own German message (services/errors.py);
- anything else is "<FAILURE_TEXT of the group, default Datenbankfehler>: <error>";
- a ``DeskError`` out of a worker in one of the screen's ``WRITE_GROUPS`` is a refusal
  (someone else was first, not allowed now): a warning, not an error.

Then ``WorkerFailed`` is posted to the screen for whatever else it must do (reload after a
refusal, show the error in place, let the next page be asked for).
"""

from __future__ import annotations

from typing import Callable, ClassVar

from textual.worker import Worker, WorkerState

from deskapp.services.errors import DeskError

from .messages import WorkerFailed

DEFAULT_FAILURE = "Datenbankfehler"


def failure_text(error: BaseException | None, prefix: str = DEFAULT_FAILURE) -> str:
    """What the agent reads about a failed worker."""
    if isinstance(error, DeskError):
        return error.message
    return f"{prefix}: {error}"


class WorkerNotices:
    """Mixin for screens (and the App): failed workers → one notice, then ``WorkerFailed``."""

    #: Groups of workers that change data: their DeskError is a refusal (a warning).
    WRITE_GROUPS: ClassVar[frozenset[str]] = frozenset()
    #: Per group, what a failure other than a DeskError is called.
    FAILURE_TEXT: ClassVar[dict[str, str]] = {}
    #: Groups whose failure the screen shows in place (``WorkerFailed``), not as a notice.
    QUIET_GROUPS: ClassVar[frozenset[str]] = frozenset()
    NOTICE_TIMEOUT: ClassVar[float] = 8
    #: How long a refusal stays (None: as long as any notice).
    REFUSAL_TIMEOUT: ClassVar[float | None] = None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        group = worker.group
        refused = isinstance(worker.error, DeskError) and group in self.WRITE_GROUPS
        text = failure_text(worker.error, self.FAILURE_TEXT.get(group, DEFAULT_FAILURE))
        if group not in self.QUIET_GROUPS:
            if refused:
                timeout = self.REFUSAL_TIMEOUT if self.REFUSAL_TIMEOUT is not None else self.NOTICE_TIMEOUT
                self.notify(text, severity="warning", timeout=timeout)  # type: ignore[attr-defined]
            else:
                self.notify(text, severity="error", timeout=self.NOTICE_TIMEOUT)  # type: ignore[attr-defined]
        self.post_message(WorkerFailed(group=group, text=text, refused=refused))  # type: ignore[attr-defined]


def read_then_push(app, read: Callable[[], object], build: Callable[[object], object],
                   push: Callable[[object], object], *, group: str) -> None:
    """Read a screen's data in a thread worker, then ``push(build(data))``: the screen is
    built and painted once, filled (the card, the ticket).

    If the read fails the screen is built with ``None`` and reads itself (its worker says
    what failed, in place). A newer call in the same ``group`` supersedes an older one still
    reading; if the agent moved to another screen meanwhile, nothing is pushed over it."""
    from textual.worker import get_current_worker

    below = app.screen

    def work() -> None:
        try:
            loaded = read()
        except Exception:  # noqa: BLE001 — the screen reads again and shows the failure
            loaded = None
        if get_current_worker().is_cancelled:
            return

        def show() -> None:
            if app.screen is below:
                push(build(loaded))

        app.call_from_thread(show)

    app.run_worker(work, thread=True, exclusive=True, group=group, exit_on_error=False)
