"""Command-line sub-commands for the policy settings (registered by screens.cli).

* ``deskapp settings show [KEY] [--json]`` — every number of the rule book: value, default,
  what it means. Anyone who can open the database may read them.
* ``deskapp settings set KEY VALUE [--json]`` — admins only (the login at the keyboard);
  checked, audited old → new.

Imports stay inside the handlers: the desk's start-up builds this parser too.
"""

from __future__ import annotations

import json

# User-facing text (German).
SET_DONE = "{key}: {old} → {new}"
SET_SAME = "{key} ist bereits {value}; nichts geändert."
SHOW_HEADER = ("Einstellung", "Wert", "Standard", "Bedeutung")
CHANGED_MARK = "*"
SHOW_FOOTER = "* geändert gegenüber dem Standard. Ändern (Admins): deskapp settings set EINSTELLUNG WERT"


def register(sub) -> None:
    from screens.cli import EPILOG, _Parser
    from screens.cli.agents import _common

    settings = sub.add_parser("settings", help="Richtlinien-Einstellungen ansehen und ändern", epilog=EPILOG)
    settings_sub = settings.add_subparsers(
        dest="settings_command", metavar="AKTION", parser_class=_Parser, required=True
    )
    show = settings_sub.add_parser("show", help="Alle Einstellungen mit Wert, Standard und Bedeutung", epilog=EPILOG)
    show.add_argument("key", nargs="?", metavar="EINSTELLUNG", help="Nur diese Einstellung zeigen")
    _common(show)
    show.set_defaults(handler=_cmd_show)

    set_ = settings_sub.add_parser("set", help="Eine Einstellung ändern (Admins)", epilog=EPILOG)
    set_.add_argument("key", metavar="EINSTELLUNG", help="Name der Einstellung (siehe settings show)")
    set_.add_argument("value", metavar="WERT", help="Neuer Wert, z. B. 24, 500,00 oder ja")
    _common(set_)
    set_.set_defaults(handler=_cmd_set)


def _cmd_show(args) -> int:
    from models.engine import read_session

    from screens.cli.agents import open_existing
    from deskapp.services import policy_admin

    if args.key is not None:
        policy_admin.require_key(args.key)  # refused before the database opens
    engine = open_existing(args)
    try:
        with read_session(engine) as session:
            rows = policy_admin.list_settings(session)
    finally:
        engine.dispose()
    if args.key is not None:
        rows = [r for r in rows if r.key == args.key]
    if args.json:
        print(json.dumps({"settings": [r.as_json() for r in rows]}, ensure_ascii=False))
        return 0
    table = [SHOW_HEADER] + [
        (r.key, r.value + (CHANGED_MARK if r.overridden else ""), r.default, r.description) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(SHOW_HEADER) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    if any(r.overridden for r in rows):
        print(SHOW_FOOTER)
    return 0


def _cmd_set(args) -> int:
    from models.engine import write_session

    from screens.cli import _now
    from screens.cli.agents import acting_agent, open_existing
    from deskapp.services import policy_admin

    policy_admin.parse_value(args.key, args.value)  # bad input is refused before the database opens
    engine = open_existing(args)
    try:
        with write_session(engine) as session:
            actor = acting_agent(session, args, engine)
            change = policy_admin.set_setting(session, actor, key=args.key, value=args.value, now=_now())
    finally:
        engine.dispose()
    setting = change.setting
    if args.json:
        print(json.dumps({**setting.as_json(), "old": change.old, "changed": change.changed}, ensure_ascii=False))
    elif change.changed:
        print(SET_DONE.format(key=setting.key, old=change.old, new=setting.value))
    else:
        print(SET_SAME.format(key=setting.key, value=setting.value))
    return 0
