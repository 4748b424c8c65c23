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

from typing import ClassVar

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
