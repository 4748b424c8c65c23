"""The desk and the reference app in a real pseudo-terminal: start, keys, memory, quit.

Method (see bench/README.md):

* t0 of a start is just before ``fork/exec``; "first frame" is the chunk in which the
  header's text first appears, "rows" the chunk in which the number of the inbox's first
  ticket (``#N``, computed through the services beforehand) first appears.
* A key is written to the pty at t0; the figure is the time from t0 to the *last* byte
  before the output has been quiet for ``quiet`` seconds (the quiet window itself is not
  counted). Where a key starts work in a thread (a page fetch, a dialog that loads its
  choices) the measurement first waits for a marker text that only the finished screen
  shows, so a pause in the middle cannot end it early. Before every key the terminal must
  have been idle for ``idle`` seconds.
* Memory: VmHWM (peak resident set) from /proc/<pid>/status after walking the inbox from
  its first to its last page (ctrl+end, then page down, for every page).
* Quit: ``q`` written at t0 → the process is seen gone (polled every millisecond).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass

from .common import ROOT, Results, Target, child_env, desk_argv, log
from .datasets import SEARCH_CANDIDATES, Expect
from . import reference_app as ref_app
from .reference_app import FIRST_ROW
from .reference_app import TITLE as REF_TITLE
from .terminal import PtyProcess, Timeout

COLS, ROWS = 120, 40
SEARCHES_PER_PROCESS = 3  # "/ word Enter" with this many words of the seed per desk process
DESK_HEADER = "deskapp"  # the header's title
NOTICE_SECONDS = 6.0  # the desk's start notice ("Demo: angemeldet als tom") is a 6 s toast
SPAN = re.compile(r"· (\d[\d.]*)–(\d[\d.]*) von (\d[\d.]*)")
CTRL_HOME, CTRL_END = "\x1b[1;5H", "\x1b[1;5F"
FORM_MARKER = "Budgetverlängerung für "  # the title of screens/dialogs/extension.py once it has loaded

MS = 1000.0


@dataclass
class Options:
    quiet: float = 0.15
    idle: float = 0.25
    cursor_presses: int = 5
    page_presses: int = 3
    walk_pages: int | None = None  # None: to the end


@dataclass
class Press:
    first: float  # ms to the first byte of output
    settled: float  # ms to the last byte before the quiet window


class Keys:
    """Pressing keys on one running program and timing what the screen does."""

    def __init__(self, term: PtyProcess, opts: Options) -> None:
        self.term = term
        self.opts = opts

    def press(self, key: str, *, marker: str | None = None, timeout: float = 15.0,
              first_timeout: float = 3.0) -> Press | None:
        term = self.term
        term.quiet(self.opts.idle, timeout=30)
        since = term.mark()
        t0 = term.send(key)
        try:
            if marker is not None:
                term.wait_for(marker, since=since, timeout=timeout)
            got = term.settle(since=since, quiet=self.opts.quiet, timeout=timeout, first_timeout=first_timeout)
        except Timeout as exc:
            seen = " ".join(term.text_since(since).split())
            log(f"key {key!r}: {exc}; the screen showed meanwhile: …{seen[-400:]!r}")
            return None
        if got is None:
            return None
        return Press((got[0] - t0) * MS, (got[1] - t0) * MS)

    def span(self) -> tuple[int, int, int] | None:
        """The list's "a–b von n" as shown last."""
        found = SPAN.findall(self.term.text_since(0))
        if not found:
            return None
        return tuple(int(x.replace(".", "")) for x in found[-1])  # type: ignore[return-value]


# --------------------------------------------------------------------------- starting


def start_desk(db: str) -> PtyProcess:
    return PtyProcess(desk_argv("--db", db, "--agent", "tom"), cols=COLS, rows=ROWS, env=child_env(),
                      cwd=str(ROOT))


def start_reference() -> PtyProcess:
    return PtyProcess([sys.executable, "-m", "bench.reference_app"], cols=COLS, rows=ROWS, env=child_env(),
                      cwd=str(ROOT))


ALT_SCREEN_OFF = b"\x1b[?1049l"  # Textual leaves the alternate screen as it shuts down


def _quit(term: PtyProcess, since_label: str) -> tuple[float, float | None]:
    """(q → process gone, q → terminal restored) in ms."""
    since = term.mark()
    t0 = term.send("q")
    gone = term.wait_exit(10)
    if gone is None:
        raise Timeout(f"{since_label} did not end within 10 s of q")
    term._reader.join(2)
    restored = term.raw_at(ALT_SCREEN_OFF, since=since)
    return (gone - t0) * MS, (restored - t0) * MS if restored is not None else None


def desk_startup(db: str, expect: Expect) -> dict[str, float | None]:
    """First frame, first frame with rows, RSS then, and quit, for one start of the desk."""
    with start_desk(db) as term:
        frame = term.wait_for(DESK_HEADER, timeout=60)
        rows = term.wait_for(f"#{expect.first_number}", timeout=60)
        term.quiet(0.3, timeout=30)
        rss = term.rss_kb()
        gone, restored = _quit(term, "the desk")
        return {"first_frame": (frame - term.started) * MS, "rows": (rows - term.started) * MS,
                "rss_start": rss / 1024 if rss else None, "quit": gone, "quit_restored": restored}


def reference_startup() -> dict[str, float | None]:
    """First frame (incl. its rows), RSS then, and quit, for one start of the reference app."""
    with start_reference() as term:
        term.wait_for(REF_TITLE, timeout=60)
        frame = term.wait_for(FIRST_ROW, timeout=60)
        term.quiet(0.3, timeout=30)
        rss = term.rss_kb()
        gone, restored = _quit(term, "the reference app")
        return {"first_frame": (frame - term.started) * MS, "rss_start": rss / 1024 if rss else None,
                "quit": gone, "quit_restored": restored}


# --------------------------------------------------------------------------- keys


REF_KEYS = ("cursor_down", "cursor_down_first", "page_down", "swap_rows", "modal", "modal_swap", "open_card",
            "open_form", "back", "open_list", "back_list", "rss_mb")


def reference_keys(opts: Options) -> dict[str, list[float]]:
    """The reference's action for every desk figure (reference_app's docstring)."""
    out: dict[str, list[float]] = {name: [] for name in REF_KEYS}
    with start_reference() as term:
        term.wait_for(FIRST_ROW, timeout=60)
        k = Keys(term, opts)
        k.press("down")  # warm-up: the first key press runs code paths once
        k.press("up")
        for _ in range(opts.cursor_presses):
            p = k.press("down")
            if p:
                out["cursor_down"].append(p.settled)
                out["cursor_down_first"].append(p.first)
        k.press(CTRL_HOME)
        for _ in range(opts.page_presses):
            p = k.press("pagedown")
            if p:
                out["page_down"].append(p.settled)
        # Swap 100 rows (page flip, queue switch, filter, search result): as often as the desk flips.
        start = ref_app.ROWS + 1
        for _ in range(6):
            p = k.press("n", marker=f"Referenzzeile {start:04d}")
            if p:
                out["swap_rows"].append(p.settled)
            start += ref_app.PAGE
        for _ in range(2):  # the filter dialog: a modal with a few inputs
            p = k.press("f", marker=ref_app.FILTER_MARKER)
            if p:
                out["modal"].append(p.settled)
            k.press("escape")
        for _ in range(2):  # apply in the filter dialog: the modal closes, 100 other rows come
            k.press("f", marker=ref_app.FILTER_MARKER)
            p = k.press("ctrl+s", marker=f"Referenzzeile {start:04d}")
            if p:
                out["modal_swap"].append(p.settled)
            start += ref_app.PAGE
        for _ in range(2):  # the card, its form, esc back
            p = k.press("u", marker=ref_app.CARD_MARKER)
            if p:
                out["open_card"].append(p.settled)
            p = k.press("e", marker=ref_app.FORM_MARKER)
            if p:
                out["open_form"].append(p.settled)
            k.press("escape")
            p = k.press("escape", marker=ref_app.MAIN_MARKER)
            if p:
                out["back"].append(p.settled)
        for _ in range(4):  # the ticket-shaped screen, esc back (as often as the desk opens tickets)
            p = k.press("t", marker=ref_app.LIST_MARKER)
            if p:
                out["open_list"].append(p.settled)
            p = k.press("escape", marker=ref_app.MAIN_MARKER)
            if p:
                out["back_list"].append(p.settled)
        rss = term.peak_rss_kb()
        if rss:
            out["rss_mb"].append(rss / 1024)
        term.send("q")
        term.wait_exit(10)
    return out


def desk_keys(db: str, expect: Expect, opts: Options, *, keys: bool = True, memory: bool = True,
              ) -> dict[str, list[float] | str]:
    """One desk process: every key figure once or a few times, then the walk, then quit."""
    out: dict = {name: [] for name in (
        "cursor_down", "cursor_down_first", "page_down", "page_flip", "switch_queue", "filter_open",
        "filter_apply", "search", "open_card", "open_form", "back", "open_ticket", "ticket_back",
        "open_thread", "thread_back", "rss_mb", "walk_pages", "quit",
    )}
    with start_desk(db) as term:
        frame = term.wait_for(DESK_HEADER, timeout=60)
        term.wait_for(f"#{expect.first_number}", timeout=60)
        # Let the start notice (a toast) come and go: its removal re-renders the screen.
        left = frame + NOTICE_SECONDS + 0.4 - time.perf_counter()
        if left > 0:
            time.sleep(left)
        k = Keys(term, opts)
        if keys:
            _desk_key_figures(k, expect, out)
        if memory:
            _walk(k, expect, out)
            rss = term.peak_rss_kb()
            if rss:
                out["rss_mb"].append(rss / 1024)
        gone, _ = _quit(term, "the desk")
        out["quit"].append(gone)
    return out


def _desk_key_figures(k: Keys, expect: Expect, out: dict) -> None:
    k.press("down")  # warm-up
    k.press("up")
    for _ in range(k.opts.cursor_presses):
        p = k.press("down")
        if p:
            out["cursor_down"].append(p.settled)
            out["cursor_down_first"].append(p.first)

    # Page down inside the 100 loaded rows (the table scrolls, no fetch).
    k.press(CTRL_HOME)
    for _ in range(k.opts.page_presses):
        p = k.press("pagedown")
        if p:
            out["page_down"].append(p.settled)

    # Page flips: page down on the last row fetches the next page; page up on the first, the previous.
    for _ in range(2):
        span = k.span()
        if span is None or span[1] >= span[2]:
            break
        k.press(CTRL_END)
        p = k.press("pagedown", marker=f"· {span[1] + 1}–")
        if p:
            out["page_flip"].append(p.settled)
    while (span := k.span()) is not None and span[0] > 1:
        k.press(CTRL_HOME)
        p = k.press("pageup", marker=f"· {max(1, span[0] - 100)}–")
        if p is None:
            break
        out["page_flip"].append(p.settled)

    # Queue switch: Technik and back to Support (first page and the sidebar counts).
    for key, label in (("3", "Technik"), ("1", "Support")):
        p = k.press(key, marker=f"{label} · 1–")
        if p:
            out["switch_queue"].append(p.settled)

    # Filter: open the dialog, choose priority "dringend", apply; open again, reset.
    p = k.press("f", marker="Kennzeichen")
    if p:
        out["filter_open"].append(p.settled)
    k.press("tab")  # status → priority
    k.press("enter")  # open the choices
    k.press("down")  # "alle" → "dringend"
    k.press("enter")
    p = k.press("ctrl+s", marker="Priorität: ")
    if p:
        out["filter_apply"].append(p.settled)
    p = k.press("f", marker="Kennzeichen")
    if p:
        out["filter_open"].append(p.settled)
    p = k.press("ctrl+r", marker="Support · 1–")
    if p:
        out["filter_apply"].append(p.settled)

    # Full-text search: "/" opens the field, the word is typed, Enter searches; Esc goes back.
    # Three words per process (the dataset's and two more of the seed's), for a steadier median.
    words = (expect.word, *[w for w in SEARCH_CANDIDATES if w != expect.word][:SEARCHES_PER_PROCESS - 1])
    for word in words:
        k.press("/")
        k.term.type(word)
        p = k.press("enter", marker=f"Suche: „{word}“")
        if p:
            out["search"].append(p.settled)
        p = k.press("escape", marker="Support · 1–")
        if p and word == expect.word:  # "back" as before: once per process from the search
            out["back"].append(p.settled)

    # The customer card of a ticket whose customer has hour packages (so the extension form
    # has something to extend): found with "/#N", then u, e on the card, esc, esc.
    k.press("/")
    k.term.type(f"#{expect.card_ticket}")
    k.press("enter", marker=f"Suche: „#{expect.card_ticket}“")
    p = k.press("u", marker="Stundenbudget")
    if p:
        out["open_card"].append(p.settled)
        # The form's title once its data is there (the card's footer only names the key).
        form = k.press("e", marker=FORM_MARKER, timeout=5.0, first_timeout=5.0)
        if form is None:
            out["open_form"] = f"n/a: e on the customer card showed no „{FORM_MARKER}“"
        else:
            out["open_form"].append(form.settled)
            k.press("escape")
        p = k.press("escape", marker="Queues & Ansichten", timeout=5.0)
        if p:
            out["back"].append(p.settled)
    _back_to_inbox(k)
    _ticket_figures(k, expect, out)


def _entries(n: int) -> str:
    """The ticket screen's title once the conversation is there: "… 20 von 201 Einträge …"."""
    return f"{n} Einträge"


def _ticket_figures(k: Keys, expect: Expect, out: dict) -> None:
    """Enter on the inbox's first ticket and on the long thread (found with "/#N"), esc back;
    each twice. Done when the conversation's title shows its entry count (the loaded screen)."""
    for _ in range(2):
        k.press(CTRL_HOME)
        p = k.press("enter", marker=_entries(expect.first_entries), timeout=10.0)
        if p is None:
            break
        out["open_ticket"].append(p.settled)
        p = k.press("escape", marker="Queues & Ansichten", timeout=5.0)
        if p:
            out["ticket_back"].append(p.settled)
    if expect.thread_ticket is None:
        msg = "n/a: no long conversation in this database (deskapp seed large adds one)"
        out["open_thread"] = out["thread_back"] = msg
        return
    k.press("/")
    k.term.type(f"#{expect.thread_ticket}")
    k.press("enter", marker=f"Suche: „#{expect.thread_ticket}“")
    for _ in range(2):
        p = k.press("enter", marker=_entries(expect.thread_entries), timeout=10.0)
        if p is None:
            break
        out["open_thread"].append(p.settled)
        p = k.press("escape", marker="Queues & Ansichten", timeout=5.0)
        if p:
            out["thread_back"].append(p.settled)
    _back_to_inbox(k)


def _back_to_inbox(k: Keys) -> None:
    """Escape until the inbox shows its unfiltered list again (after a failed step, too)."""
    for _ in range(4):
        text = k.term.text_since(0)
        on_inbox = text.rfind("Queues & Ansichten") > text.rfind("Stundenbudget")
        unfiltered = text.rfind("Support · 1–") > text.rfind("Suche: „")
        if on_inbox and unfiltered:
            return
        k.press("escape", timeout=3.0)
    log("could not get back to the inbox's first page")


def _walk(k: Keys, expect: Expect, out: dict) -> None:
    """From the first to the last page of the inbox (or ``walk_pages`` pages).

    The end is the inbox's count computed beforehand: the title may briefly show the
    previous list's total while the counts load.
    """
    pages = 0
    while (span := k.span()) is not None and span[0] > 1:  # back to the first page
        k.press(CTRL_HOME)
        if k.press("pageup", marker=f"· {max(1, span[0] - 100)}–") is None:
            break
    while (span := k.span()) is not None and span[1] < expect.support_total:
        if k.opts.walk_pages is not None and pages >= k.opts.walk_pages:
            break
        k.press(CTRL_END)
        p = k.press("pagedown", marker=f"· {span[1] + 1}–", timeout=30)
        if p is None:
            log(f"the walk stopped after {pages} pages: page {span[1] + 1}– never came")
            break
        out["page_flip"].append(p.settled)
        pages += 1
        if pages % 10 == 0:
            rss = k.term.rss_kb()
            out.setdefault("rss_trace", []).append((pages, round(rss / 1024, 1) if rss else None))
    out["walk_pages"].append(pages)


# --------------------------------------------------------------------------- the section


def run_ui(results: Results, datasets: dict[str, tuple[str, Expect]], *, runs: int, startup_runs: int,
           opts: Options, sections: set[str]) -> None:
    """Startup, key and memory figures for every dataset, beside the reference app."""
    ref_frame = results.figure("ui.ref.first_frame", "reference: start → first frame (50 rows)", "ms")
    ref_quit = results.figure("ui.ref.quit", "reference: q → process gone", "ms")
    ref_down = results.figure("ui.ref.cursor_down", "reference: cursor down → settled", "ms")
    ref_page = results.figure("ui.ref.page_down", "reference: page down → settled", "ms")
    ref_rss = results.figure("ui.ref.rss", "reference: peak RSS", "MB")

    if "startup" in sections:
        for i in range(startup_runs):
            ref = reference_startup()
            ref_frame.samples.append(ref["first_frame"])
            ref_quit.samples.append(ref["quit"])
            results.add("ui.ref.rss_start", "reference: RSS after start", "MB", ref["rss_start"])
            results.add("ui.ref.quit_restored", "reference: q → terminal restored", "ms", ref["quit_restored"])
            for name, (db, exp) in datasets.items():
                log(f"startup {name} run {i + 1}/{startup_runs}")
                got = desk_startup(db, exp)
                results.add(f"ui.{name}.first_frame", f"{name}: start → first frame", "ms", got["first_frame"])
                results.add(f"ui.{name}.rows", f"{name}: start → first frame with ticket rows", "ms", got["rows"])
                results.add(f"ui.{name}.rss_start", f"{name}: RSS after start", "MB", got["rss_start"])
                results.add(f"ui.{name}.quit", f"{name}: quit (q → process gone)", "ms", got["quit"])
                results.add(f"ui.{name}.quit_restored", f"{name}: q → terminal restored (Textual done)", "ms",
                            got["quit_restored"])

    if sections & {"keys", "memory"}:
        for i in range(runs):
            ref = reference_keys(opts)
            ref_down.samples += ref["cursor_down"]
            ref_page.samples += ref["page_down"]
            ref_rss.samples += ref["rss_mb"]
            results.add("ui.ref.cursor_down_first", "reference: cursor down → first output", "ms", None).samples += (
                ref["cursor_down_first"])
            for key, (label, unit) in REF_LABELS.items():
                results.figure(f"ui.ref.{key}", label, unit).samples += ref[key]
            for name, (db, exp) in datasets.items():
                log(f"keys/memory {name} run {i + 1}/{runs}")
                got = desk_keys(db, exp, opts, keys="keys" in sections, memory="memory" in sections)
                _collect(results, name, got, keys="keys" in sections, memory="memory" in sections)

    # References and targets (issue 16): every figure a ratio to its reference action.
    f = results.figures
    for name in datasets:
        _ref(f.get(f"ui.{name}.first_frame"), ref_frame, None)
        _ref(f.get(f"ui.{name}.rows"), ref_frame, Target("ratio", 1.3))
        _ref(f.get(f"ui.{name}.quit"), ref_quit, Target("ratio", 1.2))
        _ref(f.get(f"ui.{name}.quit_restored"), f.get("ui.ref.quit_restored"), None)
        _ref(f.get(f"ui.{name}.rss_start"), f.get("ui.ref.rss_start"), None)
        _ref(f.get(f"ui.{name}.cursor_down"), ref_down, Target("ratio", 2))
        _ref(f.get(f"ui.{name}.cursor_down_first"), f.get("ui.ref.cursor_down_first"), None)
        _ref(f.get(f"ui.{name}.page_down"), ref_page, Target("ratio", 1.5))
        for key, ref_key in (("page_flip", "swap_rows"), ("switch_queue", "swap_rows"),
                             ("filter_apply", "swap_rows"), ("search", "swap_rows"), ("filter_open", "modal"),
                             ("open_card", "open_card"), ("open_form", "open_form"), ("back", "back"),
                             ("open_ticket", "open_list"), ("ticket_back", "back_list"),
                             ("open_thread", "open_list"), ("thread_back", "back_list")):
            _ref(f.get(f"ui.{name}.{key}"), f.get(f"ui.ref.{ref_key}"), Target("ratio", 1.5))
        _ref(f.get(f"ui.{name}.rss"), ref_rss, Target("ratio", 2))


def _ref(fig, ref, target) -> None:
    if fig is None:
        return
    if ref is not None and ref.samples:
        fig.reference = ref.median
        fig.reference_label = ref.label
    fig.target = target


REF_LABELS = {
    "swap_rows": ("reference: swap 100 rows (n) → settled", "ms"),
    "modal": ("reference: modal with 4 inputs (f) → settled", "ms"),
    # What apply filter does beyond a swap: the dialog closes in the same key (info: the
    # issue's target for apply filter stays the swap).
    "modal_swap": ("reference: close that modal and swap 100 rows (ctrl+s) → settled", "ms"),
    "open_card": ("reference: push a card-sized screen (u) → settled", "ms"),
    "open_form": ("reference: form-sized modal on it (e) → settled", "ms"),
    "back": ("reference: esc back from the card-sized screen → settled", "ms"),
    "open_list": ("reference: push a ticket-shaped screen, 20 entries (t) → settled", "ms"),
    "back_list": ("reference: esc back from the ticket-shaped screen → settled", "ms"),
}

LABELS = {
    "cursor_down": ("cursor down → settled", "ms"),
    "cursor_down_first": ("cursor down → first output", "ms"),
    "page_down": ("page down within the page → settled", "ms"),
    "page_flip": ("page flip (next/previous page incl. fetch) → settled", "ms"),
    "switch_queue": ("switch queue (3 / 1) → settled", "ms"),
    "filter_open": ("filter dialog (f) → settled", "ms"),
    "filter_apply": ("apply filter (ctrl+s / ctrl+r) → settled", "ms"),
    "search": ("full-text search (/ word Enter) → settled", "ms"),
    "open_card": ("open customer card (u) → settled", "ms"),
    "open_form": ("open extension form (e on the card) → settled", "ms"),
    "back": ("go back (esc) → settled", "ms"),
    "open_ticket": ("open ticket (enter) → settled", "ms"),
    "ticket_back": ("esc back from the ticket → settled", "ms"),
    "open_thread": ("open the 200-message ticket (enter) → settled", "ms"),
    "thread_back": ("esc back from the 200-message ticket → settled", "ms"),
    "rss": ("peak RSS after walking the inbox", "MB"),
}


def _collect(results: Results, name: str, got: dict, *, keys: bool, memory: bool) -> None:
    wanted = []
    if keys:
        wanted += [k for k in LABELS if k != "rss"]
    if memory:
        wanted += ["page_flip", "rss"]
    for key in dict.fromkeys(wanted):
        label, unit = LABELS[key]
        fig = results.figure(f"ui.{name}.{key}", f"{name}: {label}", unit)
        values = got.get("rss_mb" if key == "rss" else key)
        if isinstance(values, str):
            fig.status = values
            continue
        fig.samples += values or []
        if not values and not fig.status:
            fig.status = "error: not measured (marker never appeared?)"
    if memory and got.get("walk_pages"):
        fig = results.figures[f"ui.{name}.rss"]
        fig.extra.setdefault("pages_walked", []).extend(got["walk_pages"])
        fig.extra.setdefault("rss_mb_every_10_pages", []).append(got.get("rss_trace", []))
    if got.get("quit"):
        results.add(f"ui.{name}.quit", f"{name}: quit (q → process gone)", "ms", None).samples += got["quit"]
