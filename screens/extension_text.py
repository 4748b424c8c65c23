"""How a budget extension request reads outside its form: the inbox's detail block,
why the agent may not decide it, its outcome in one word."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskapp import texts
from deskapp.formatting import date_de, datetime_de, hours_label

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.extensions import ExtensionView

# A request's outcome in one word (the requester's list) and its colour.
EXTENSION_SHORT = {"waiting": "wartet", "approved": "genehmigt", "rejected": "abgelehnt"}
EXTENSION_STYLE = {"waiting": "bold magenta", "approved": "bold green", "rejected": "bold red"}


def _escape(text: str) -> str:
    from .styles import inert_markup

    return inert_markup(text, keep_newlines=True)


def extension_refusal(request: ExtensionView) -> str:
    """Why the agent at the keyboard cannot decide this request now (German)."""
    if not request.waiting:
        verdict = EXTENSION_SHORT.get(request.status, request.status)
        when = f" am {datetime_de(request.decided_at)}" if request.decided_at else ""
        who = request.decided_by or "–"
        return f"Antrag #{request.request_id} ist bereits entschieden: {verdict} von {who}{when}."
    return request.may_decide or ""


def extension_lines(request: ExtensionView, viewer_login: str) -> list[str]:
    """The request block of the inbox's detail pane (Rich markup)."""
    status = texts.EXTENSION_STATUS.get(request.status, request.status)
    style = EXTENSION_STYLE.get(request.status, "bold")
    head = f"[{style}]{status}[/]"
    if not request.waiting and request.decided_by:
        head += f" von {request.decided_by}"
        if request.decided_at:
            head += f" am {datetime_de(request.decided_at)}"
    unit = "Monat" if request.months == 1 else "Monate"
    proposal = f"Verlängerung bis [b]{date_de(request.proposal)}[/] (+{request.months} {unit})"
    if request.rebooking_needed:
        proposal += " (wenn Kunde nachgebucht hat)"
    by = "Ihnen" if request.requested_by == viewer_login else request.requested_by
    when = f" am {datetime_de(request.created_at)}" if request.created_at else ""
    lines = [
        "",
        f"[b]Verlängerungsantrag #{request.request_id}[/] · {head}",
        f"  Beantragt von {by}{when} · {_escape(request.routing_note)}",
        f"  Kunde {_escape(request.customer_name)} · Restbudget {hours_label(request.remaining_minutes)}",
        f"  Budget gültig bis {date_de(request.old_valid_until)} → {proposal}",
    ]
    if request.status == "rejected" and request.reason:
        lines.append(f"  [b]Begründung der Ablehnung:[/] {_escape(request.reason)}")
    if request.waiting:
        if request.addressee is None:
            lines.append("  [b yellow]⏸ Genehmigung und Vertretung sind abwesend – "
                         "der Antrag wartet auf die erste Rückkehr.[/]")
        if request.may_decide is None:
            lines.append("  [dim]a genehmigen · x ablehnen (mit Begründung)[/]")
        else:
            lines.append(f"  [yellow]{_escape(request.may_decide)}[/]")
    return lines


__all__ = ["EXTENSION_SHORT", "EXTENSION_STYLE", "extension_lines", "extension_refusal"]
