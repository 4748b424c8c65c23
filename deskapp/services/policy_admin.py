"""The policy settings as agents see and admins change them (docs/rules.md#setup-settings).

Every number of the rule book is a field of ``deskapp.settings.Policy`` with its default;
a row in ``policy_setting`` overrides it. Everyone may read them; admins change them, one
transaction with an audit entry old → new. A value is checked against its type and its
range (no negative limit, no 0 months, ...) and against the settings it must agree with
(the working day starts before it ends, ...); a refusal is one German sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable

from sqlalchemy import select
from sqlmodel import Session

from models.tables import PolicySetting

from ..settings import Policy, parse_setting, setting_type
from . import agents, audit
from .errors import InvalidInput, PermissionDenied
from .readmodels import AgentRef

# What each setting means, in the words an agent reads (German).
DESCRIPTIONS: dict[str, str] = {
    "default_credit_limit": "Kreditlimit eines neuen Kunden für Echtzeitbestellungen (EUR)",
    "conspicuous_over_limit_percent": "Auffällig: Bestellung überschreitet das Limit um mehr als so viel Prozent",
    "conspicuous_orders_count": "Auffällig: so viele Bestellungen eines Kunden im Zeitfenster",
    "conspicuous_orders_window_minutes": "Zeitfenster für die Zahl der Bestellungen (Minuten)",
    "conspicuous_customer_age_days": "Auffällig: Kunde ist jünger als so viele Tage",
    "held_order_overdue_working_hours": "Angehaltene Bestellung ist nach so vielen Arbeitsstunden überfällig",
    "working_day_start_hour": "Arbeitstag beginnt um (Stunde)",
    "working_day_end_hour": "Arbeitstag endet um (Stunde)",
    "registry_url": "Adresse der Vergabestelle (HTTP/JSON); leer = eingebaute Simulation",
    "registry_timeout_seconds": "Zeitlimit für eine Anfrage an die Vergabestelle (Sekunden)",
    "registry_simulate_fail_items": "Simulation: diese Artikel lehnt die Vergabestelle ab (durch Leerzeichen getrennt)",
    "registry_simulate_unreachable_until": "Simulation: Vergabestelle unerreichbar bis (JJJJ-MM-TTTHH:MM; leer = erreichbar)",
    "order_pending_stale_minutes": "Bestellung „in Ausführung“ wird nach so vielen Minuten bei der Vergabestelle nachgefragt",
    "package_validity_months": "Gültigkeit eines Stundenpakets (Monate)",
    "reminder_stages_months": "Erinnerungen so viele Monate vor Ablauf (durch Leerzeichen getrennt)",
    "workaround_window_days": "Workaround-Fenster (Tage)",
    "repeat_case_min_count": "Wiederholungsfall ab so vielen gleichen Anfragen",
    "repeat_case_window_months": "Zeitraum für Wiederholungsfälle (Monate)",
    "budget_warn_minutes": "Budget-Warnung ab so wenig Restminuten",
    "budget_critical_minutes": "Budget kritisch ab so wenig Restminuten",
    "allow_negative_budget": "Negatives Budget erlauben (ja/nein)",
    "rebooking_threshold_minutes": "Umbuchung nötig ab so vielen Minuten Verlängerung",
    "rebooking_recent_days": "Umbuchungen zählen so viele Tage zurück",
    "extension_min_months": "Verlängerung um mindestens so viele Monate",
    "extension_max_months": "Verlängerung um höchstens so viele Monate",
    "inbox_page_size": "Tickets je Seite im Posteingang",
    "conversation_page_size": "Einträge je Seite im Verlauf eines Tickets",
    "inbox_poll_seconds": "Posteingang prüft so oft auf Änderungen (Sekunden)",
    "search_count_cap": "Suche zählt höchstens so viele Treffer",
    "radar_horizons_days": "Ablauf-Radar: Horizonte in Tagen (durch Leerzeichen getrennt)",
    "budget_trend_months": "Budgetverlauf auf der Kundenkarte (Monate)",
    "expiry_soon_days": "Kundenkarte: Paket läuft bald ab (Tage, gelb)",
    "mail_sending_stale_minutes": "Mail ohne Antwort: nach so vielen Minuten unklar",
    "mail_data_timeout_seconds": "Warten auf die SMTP-Antwort nach dem Mailtext (s)",
    "mail_uncertain_resends": "Unklare Mail so oft erneut senden, dann aufgeben",
    "mail_reopen_days": "Antwort per E-Mail öffnet ein erledigtes Ticket so viele Tage lang wieder (danach Folgeticket)",
    "mail_attachment_max_mb": "Anhänge einer eingehenden E-Mail werden bis zu so vielen MB gespeichert",
    "mail_recipients_kept": "So viele Empfänger (An/Cc) einer eingehenden E-Mail werden gespeichert",
}

KIND_LABEL = {int: "ganze Zahl", float: "Zahl", Decimal: "Betrag", bool: "ja/nein", str: "Text"}

MSG_UNKNOWN_KEY = "Die Einstellung '{key}' gibt es nicht. Bekannt sind: {keys}."
MSG_NOT_ADMIN = "Nur Admins ändern Richtlinien-Einstellungen ({login} ist kein Admin)."
MSG_TYPE = "'{value}' ist {no_kind}; {key} braucht {a_kind}."
# The kinds with their German articles ("kein Betrag", "einen Betrag"), for MSG_TYPE.
KIND_ARTICLES = {
    int: ("keine ganze Zahl", "eine ganze Zahl"), float: ("keine Zahl", "eine Zahl"),
    Decimal: ("kein Betrag", "einen Betrag"), str: ("kein Text", "einen Text"),
}
MSG_BOOL = "'{value}' ist kein Ja/Nein; {key} braucht ja oder nein."
MSG_NEGATIVE = "{key} darf nicht negativ sein ('{value}')."
MSG_AT_LEAST = "{key} muss mindestens {minimum} sein ('{value}')."
MSG_AT_MOST = "{key} darf höchstens {maximum} sein ('{value}')."
MSG_CENTS = "{key}: höchstens zwei Nachkommastellen ('{value}')."
MSG_NUMBERS = "{key} braucht ganze Zahlen größer als 0, durch Leerzeichen getrennt ('{value}')."
MSG_LONG = "{key}: der Wert ist {length} Zeichen lang; höchstens {limit} sind erlaubt."
MSG_URL = "{key}: '{value}' ist keine http(s)-Adresse."
MSG_MOMENT = "{key}: '{value}' ist kein Zeitpunkt (JJJJ-MM-TTTHH:MM oder leer)."
MSG_DAY = "Der Arbeitstag muss vor seinem Ende beginnen ({start} Uhr bis {end} Uhr)."
MSG_EXTENSION = "Die kürzeste Verlängerung ({low} Monate) darf nicht länger als die längste ({high}) sein."
MSG_BUDGET = "Die kritische Budgetschwelle ({critical} min) darf nicht über der Warnschwelle ({warn} min) liegen."
MSG_MAIL_WINDOW = (
    "Nach {stale} min ohne Ergebnis gilt eine Mail als unklar; das muss länger sein als das Warten "
    "auf die Antwort des SMTP-Servers ({seconds:g} s), sonst wird eine Mail erneut gesendet, während "
    "noch auf ihre Antwort gewartet wird."
)
MAX_VALUE = 255  # policy_setting.value

# Lower bounds: settings that count months, sizes, windows need at least 1, the rest 0.
AT_LEAST_ONE = frozenset({
    "package_validity_months", "repeat_case_min_count", "repeat_case_window_months",
    "extension_min_months", "extension_max_months", "inbox_page_size", "conversation_page_size", "budget_trend_months",
    "search_count_cap", "conspicuous_orders_count", "conspicuous_orders_window_minutes", "held_order_overdue_working_hours",
    "rebooking_recent_days", "workaround_window_days", "mail_sending_stale_minutes",
    "mail_attachment_max_mb", "mail_recipients_kept",
    "order_pending_stale_minutes",
})
HOURS = frozenset({"working_day_start_hour", "working_day_end_hour"})
POSITIVE_SECONDS = frozenset({"registry_timeout_seconds", "inbox_poll_seconds", "mail_data_timeout_seconds"})
NUMBER_LISTS = frozenset({"reminder_stages_months", "radar_horizons_days"})


@dataclass(frozen=True)
class SettingView:
    """One policy setting: its value now, its default, and what it means."""

    key: str
    value: str
    default: str
    description: str
    kind: str  # German: "ganze Zahl", "Betrag", ...
    overridden: bool

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SettingChange:
    setting: SettingView
    old: str
    changed: bool


def keys() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Policy))


def show(value) -> str:
    """A setting's value as stored and shown: ``True`` → ``ja``, Decimal with its cents."""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def list_settings(session: Session) -> list[SettingView]:
    """Every policy setting, in the rule book's order."""
    overrides = {row.key: row.value for row in session.execute(select(PolicySetting)).scalars()}
    policy = Policy().with_overrides(overrides, lenient=True)  # a broken value is shown as stored
    defaults = Policy()
    return [
        SettingView(
            key=key, value=_shown_value(policy, key, overrides), default=show(getattr(defaults, key)),
            description=DESCRIPTIONS.get(key, key), kind=KIND_LABEL[setting_type(key)],
            overridden=key in overrides,
        )
        for key in keys()
    ]


def _shown_value(policy: Policy, key: str, overrides: dict[str, str]) -> str:
    """The value in force; a stored value that does not parse, as stored (to be repaired)."""
    if key in overrides:
        try:
            parse_setting(key, overrides[key])
        except (ValueError, ArithmeticError, InvalidOperation):
            return overrides[key][:60]
    return show(getattr(policy, key))


def get_setting(session: Session, key: str) -> SettingView:
    require_key(key)
    return next(s for s in list_settings(session) if s.key == key)


def require_key(key: str) -> None:
    if key not in keys():
        raise InvalidInput(MSG_UNKNOWN_KEY.format(key=key[:64], keys=", ".join(keys())))


def parse_value(key: str, raw: str):
    """The typed value of ``raw`` for ``key`` after every check of its own; ``InvalidInput`` else."""
    require_key(key)
    kind = setting_type(key)
    value_text = raw.strip()
    shown = value_text[:60]
    if len(value_text) > MAX_VALUE:
        raise InvalidInput(MSG_LONG.format(key=key, length=len(value_text), limit=MAX_VALUE))
    if kind in (int, float, Decimal):
        value_text = _german_number(value_text)
    if kind is Decimal:  # the money parser refuses these as a bad format; say what is wrong
        whole, dot, cents = value_text.lstrip("-").partition(".")
        if value_text.startswith("-"):
            raise InvalidInput(MSG_NEGATIVE.format(key=key, value=shown))
        if dot and whole.isdigit() and cents.isdigit() and len(cents) > 2:
            raise InvalidInput(MSG_CENTS.format(key=key, value=shown))
    try:
        value = parse_setting(key, value_text)
    except (ValueError, ArithmeticError, InvalidOperation):
        if kind is bool:
            raise InvalidInput(MSG_BOOL.format(value=shown, key=key)) from None
        raise InvalidInput(_type_message(kind, key, shown)) from None
    if kind is float and not (value == value and abs(value) != float("inf")):  # NaN, infinity
        raise InvalidInput(_type_message(kind, key, shown))
    for check in _CHECKS:
        check(key, value, shown)
    return value


def _type_message(kind: type, key: str, shown: str) -> str:
    no_kind, a_kind = KIND_ARTICLES[kind]
    return MSG_TYPE.format(value=shown, key=key, no_kind=no_kind, a_kind=a_kind)


def _german_number(text: str) -> str:
    """``1.000,50`` / ``12,5`` as Python reads numbers; anything else unchanged."""
    if "," in text:
        return text.replace(".", "").replace(",", ".")
    return text


def _check_range(key: str, value, shown: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return
    if key in HOURS:
        if value > 24:
            raise InvalidInput(MSG_AT_MOST.format(key=key, maximum=24, value=shown))
    if key in POSITIVE_SECONDS and value <= 0:
        raise InvalidInput(MSG_AT_LEAST.format(key=key, minimum="mehr als 0", value=shown))
    if value < 0:
        raise InvalidInput(MSG_NEGATIVE.format(key=key, value=shown))
    if key in AT_LEAST_ONE and value < 1:
        raise InvalidInput(MSG_AT_LEAST.format(key=key, minimum=1, value=shown))
    if isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")):
        raise InvalidInput(MSG_CENTS.format(key=key, value=shown))


def _check_text(key: str, value, shown: str) -> None:
    if not isinstance(value, str):
        return
    if key in NUMBER_LISTS:
        words = value.split()
        if not words or not all(w.isascii() and w.isdigit() and len(w) <= 6 and int(w) > 0 for w in words):
            raise InvalidInput(MSG_NUMBERS.format(key=key, value=shown))
    if key == "registry_url" and value and not re.match(r"https?://\S+$", value):
        raise InvalidInput(MSG_URL.format(key=key, value=shown))
    if key == "registry_simulate_unreachable_until" and value:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(MSG_MOMENT.format(key=key, value=shown)) from None


_CHECKS: tuple[Callable[[str, object, str], None], ...] = (_check_range, _check_text)


def _check_together(policy: Policy) -> None:
    """Settings that must agree with each other, on the policy as it would be."""
    if policy.working_day_start_hour >= policy.working_day_end_hour:
        raise InvalidInput(MSG_DAY.format(start=policy.working_day_start_hour, end=policy.working_day_end_hour))
    if policy.extension_min_months > policy.extension_max_months:
        raise InvalidInput(MSG_EXTENSION.format(low=policy.extension_min_months, high=policy.extension_max_months))
    if policy.budget_critical_minutes > policy.budget_warn_minutes:
        raise InvalidInput(MSG_BUDGET.format(critical=policy.budget_critical_minutes, warn=policy.budget_warn_minutes))
    if policy.mail_sending_stale_minutes * 60 <= policy.mail_data_timeout_seconds:
        raise InvalidInput(MSG_MAIL_WINDOW.format(stale=policy.mail_sending_stale_minutes,
                                                  seconds=policy.mail_data_timeout_seconds))


def set_setting(session: Session, actor: AgentRef, *, key: str, value: str, now: dt.datetime) -> SettingChange:
    """Set ``key`` to ``value`` (admins only); audited old → new. Unchanged: nothing written."""
    if not agents.is_active_admin(session, actor.login):
        raise PermissionDenied(MSG_NOT_ADMIN.format(login=actor.login))
    typed = parse_value(key, value)
    stored = show(typed)
    overrides = {row.key: row.value for row in session.execute(select(PolicySetting)).scalars()}
    before = Policy().with_overrides(overrides, lenient=True)  # a broken stored value can be repaired
    old = _shown_value(before, key, overrides)
    if old == stored:
        return SettingChange(setting=get_setting(session, key), old=old, changed=False)
    _check_together(dataclasses.replace(before, **{key: typed}))
    session.merge(PolicySetting(key=key, value=stored))
    session.flush()
    audit.record(session, actor, "policy.set", "policy_setting", key, old=old, new=stored, now=now)
    return SettingChange(setting=get_setting(session, key), old=old, changed=True)
