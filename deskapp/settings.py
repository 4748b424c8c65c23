"""Policy settings: every number of the rule book (docs/rules.md#settings), with its default.

The defaults live here; a database row in ``policy_setting`` overrides one by key.
Nothing else in the code spells these numbers.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

TIMEZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Policy:
    # Credit limit for real-time orders
    default_credit_limit: Decimal = Decimal("500.00")
    conspicuous_over_limit_percent: int = 50
    conspicuous_orders_count: int = 10
    conspicuous_orders_window_minutes: int = 60
    conspicuous_customer_age_days: int = 30
    held_order_overdue_working_hours: int = 4
    working_day_start_hour: int = 8
    working_day_end_hour: int = 18
    # The registry (Vergabestelle): an HTTP/JSON URL, or empty for the built-in simulation
    registry_url: str = ""
    registry_timeout_seconds: float = 5.0
    registry_simulate_fail_items: str = ""  # space-separated items the simulation refuses
    registry_simulate_unreachable_until: str = ""  # ISO timestamp (naive = Berlin); unreachable until then
    # A pending order older than this is resolved by ``deskapp orders recover`` (registry status query)
    order_pending_stale_minutes: int = 10
    # Hour budgets
    package_validity_months: int = 24
    reminder_stages_months: str = "6 3 1"
    workaround_window_days: int = 14
    repeat_case_min_count: int = 3  # "more than twice"
    repeat_case_window_months: int = 12
    budget_warn_minutes: int = 600
    budget_critical_minutes: int = 120
    allow_negative_budget: bool = False
    # Extension requests
    rebooking_threshold_minutes: int = 1200  # 20 h; exactly 20:00 needs no rebooking
    rebooking_recent_days: int = 90
    extension_min_months: int = 1
    extension_max_months: int = 2
    # Desk behaviour
    inbox_page_size: int = 100
    conversation_page_size: int = 20  # entries of a ticket's conversation read and shown at a time
    inbox_poll_seconds: float = 2.0
    # A search's matches are counted up to this many; more: "von mehr als 1.000" in the title
    search_count_cap: int = 1000
    radar_horizons_days: str = "30 90 180"
    budget_trend_months: int = 12  # the card's sparkline of the budget reaches this far back
    expiry_soon_days: int = 90  # the card shows a package expiring within this many days in yellow
    # Outgoing mail (docs/rules.md#mail-delivery). A mail claimed for sending longer ago than
    # this counts as cut off (its outcome unknown); an uncertain mail is sent again after it.
    mail_sending_stale_minutes: int = 30
    # How long to wait for the server's answer to the end of DATA (RFC 5321 4.5.3.2.6 asks
    # for 10 minutes): giving up earlier turns a mail the server accepted into an unknown one.
    mail_data_timeout_seconds: float = 600.0
    # How often a mail whose outcome stayed unknown is sent again (same Message-ID) before
    # the desk gives it up as failed.
    mail_uncertain_resends: int = 1
    # Incoming mail (docs/rules.md#mail-threading, #mail-content)
    mail_reopen_days: int = 14  # an answer to a resolved ticket within this many days reopens it
    mail_attachment_max_mb: int = 25  # above this per message the attachments are not kept
    mail_recipients_kept: int = 100  # To/Cc addresses kept per header; the rest is counted

    @property
    def reminder_stages(self) -> tuple[int, ...]:
        return tuple(sorted((int(x) for x in self.reminder_stages_months.split()), reverse=True))

    def with_overrides(self, overrides: dict[str, str], *, lenient: bool = False) -> "Policy":
        """This policy with the stored overrides applied. A stored value that does not parse
        raises ``BadSetting`` naming it; ``lenient`` keeps the default for it instead (the
        settings commands, which must still show and repair it)."""
        changes = {}
        for f in fields(self):
            if f.name in overrides:
                try:
                    changes[f.name] = parse_setting(f.name, overrides[f.name])
                    if f.name in NUMBER_LIST_SETTINGS and not _NUMBER_LIST.match(changes[f.name]):
                        raise ValueError(overrides[f.name])  # read later as numbers: refuse it now
                except (ValueError, ArithmeticError):
                    if not lenient:
                        raise BadSetting(f.name, overrides[f.name]) from None
        return dataclasses.replace(self, **changes)


class BadSetting(ValueError):
    """A stored policy setting whose value is not of its kind (edited outside the desk)."""

    exit_code = 3
    MESSAGE = (
        "Die Einstellung {key} hat in der Datenbank den ungültigen Wert »{value}«. "
        "Ein Admin korrigiert sie mit: deskapp settings set {key} WERT (Standard: {default})."
    )

    def __init__(self, key: str, value: str) -> None:
        default = getattr(Policy(), key)
        shown = "ja" if default is True else "nein" if default is False else str(default)
        self.key, self.value = key, value
        self.message = self.MESSAGE.format(key=key, value=str(value)[:60], default=shown or "leer")
        super().__init__(self.message)


# Settings whose text is a list of positive whole numbers, e.g. "6 3 1".
NUMBER_LIST_SETTINGS = ("reminder_stages_months", "radar_horizons_days")
_INT = re.compile(r"^-?[0-9]{1,18}$")  # ASCII digits only: int() also takes "١٢" and "1_000"
_FLOAT = re.compile(r"^-?[0-9]{1,12}(?:\.[0-9]{1,12})?$")
_NUMBER_LIST = re.compile(r"^[0-9]{1,6}(?: +[0-9]{1,6})*$")


def setting_type(name: str) -> type:
    for f in fields(Policy):
        if f.name == name:
            default = f.default
            return type(default)
    raise KeyError(name)


def parse_setting(name: str, raw: str):
    """Turn a stored/entered string into the setting's type; ValueError if it does not fit."""
    kind = setting_type(name)
    if kind is bool:
        low = raw.strip().lower()
        if low in ("1", "true", "ja", "yes", "on"):
            return True
        if low in ("0", "false", "nein", "no", "off"):
            return False
        raise ValueError(raw)
    if kind is Decimal:  # money (the default credit limit): euros, cents-exact, from 0
        from .rules.inputs import parse_money

        return parse_money(raw, allow_zero=True)
    text = raw.strip()
    if kind is int and not _INT.match(text):
        raise ValueError(raw)
    if kind is float and not _FLOAT.match(text):
        raise ValueError(raw)
    return kind(text)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("deskapp", appauthor=False)) / "desk.sqlite3"


def demo_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("deskapp", appauthor=False)) / "demo.sqlite3"


SETTINGS_FILE_ENV = "DESK_SETTINGS_FILE"


def settings_file_path() -> Path:
    """The desk's settings file (TOML; e.g. its ``[smtp]`` table); ``DESK_SETTINGS_FILE`` wins."""
    import os

    override = os.environ.get(SETTINGS_FILE_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("deskapp", appauthor=False)) / "settings.toml"


# The ``[database]`` table of the settings file: ``url`` is the desk's database, written by
# ``deskapp init`` so that ``deskapp`` needs no ``--db`` afterwards.
DATABASE_TABLE = "database"


def configured_db_url(path: Path | None = None) -> str | None:
    """``[database] url`` from the settings file, or None (no file, no entry, unreadable)."""
    import tomllib

    path = path or settings_file_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = data.get(DATABASE_TABLE)
    url = table.get("url") if isinstance(table, dict) else None
    return url.strip() if isinstance(url, str) and url.strip() else None


def desk_db_target(explicit: str | None) -> str:
    """Which database a command works on: ``--db``, else the settings file, else the default file."""
    return explicit or configured_db_url() or str(default_db_path())


def write_db_url(url: str, path: Path | None = None) -> bool:
    """Record ``url`` as ``[database] url`` in the settings file, keeping everything else in it.

    Returns False when the file says so already. The file may hold a password in the URL,
    so a file this creates is readable by its owner only.
    """
    import json
    import os
    import re

    path = path or settings_file_path()
    if configured_db_url(path) == url:
        return False
    line = f"url = {json.dumps(url, ensure_ascii=False)}"  # a JSON string is a TOML basic string
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    header = re.compile(r"^\[database\][ \t]*(#.*)?$", re.M)
    match = header.search(old)
    if match is None:
        new = old + ("\n" if old and not old.endswith("\n") else "") + ("\n" if old else "")
        new += f"[{DATABASE_TABLE}]\n{line}\n"
    else:
        start = match.end()
        following = re.search(r"^\[", old[start:], re.M)
        end = start + following.start() if following else len(old)
        body = old[start:end]
        url_line = re.compile(r"^[ \t]*url[ \t]*=.*$", re.M)
        body = url_line.sub(lambda _m: line, body, count=1) if url_line.search(body) else f"\n{line}" + body
        new = old[:start] + body + old[end:]
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    path.write_text(new, encoding="utf-8")
    if created:
        os.chmod(path, 0o600)
    return True
