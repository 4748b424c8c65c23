"""A customer's master data (key ``E`` on the card; contract processing and admins).

Name, contact e-mail addresses (one or more, separated by commas), phone and "customer
since", written through ``deskapp.services.customers.update_master_data``. The dialog
reads the master data itself (with its version) when it opens; a customer changed by
someone else meanwhile is the service's ``Conflict``: the message says who, the fields
show the customer as it is now, and the agent may apply the change again.
"""

from __future__ import annotations

import uuid

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from deskapp.formatting import date_de
from deskapp.rules.inputs import InputError, parse_date
from deskapp.services.errors import Conflict

from ..forms import MSG_DATE, FieldError, FormDialog
from ..messages import CustomerMasterLoaded

MSG_LOADING = "Stammdaten werden geladen …"


class CustomerDialog(FormDialog):
    """The result is the saved ``CustomerMaster``, or None."""

    AUTO_FOCUS = ""  # #name once the master data is read: keys typed meanwhile are held for it
    DEFAULT_CSS = FormDialog.DEFAULT_CSS + """
    CustomerDialog .dialog { width: 80; }
    """
    FIELDS = {"name": "name", "emails": "emails", "phone": "phone", "customer_since": "since"}
    INVALID_FIELD = None
    ENTER_ORDER = ("name", "emails", "phone", "since")

    def __init__(self, *, customer_id: uuid.UUID, customer: str) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer = customer
        self.master = None  # CustomerMaster, once read

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Stammdaten von {self.customer}", classes="title")
            yield Static(MSG_LOADING, id="number", classes="explain")
            yield from self.field_row("Name", "name", Input(id="name"))
            yield from self.field_row("E-Mail", "emails", Input(
                placeholder="eine oder mehrere, durch Komma getrennt", id="emails",
            ))
            yield from self.field_row("Telefon", "phone", Input(id="phone"))
            yield from self.field_row("Kunde seit", "since", Input(placeholder="TT.MM.JJ", id="since"))
            yield Static("", id="form-error")
            yield Static("Strg+S speichern · Esc abbrechen · die erste Adresse ist die Hauptadresse",
                         classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self._load()

    @work(thread=True, exclusive=True, group="customer-master", exit_on_error=False)
    def _load(self) -> None:
        from deskapp.services import customers

        customer_id = self.customer_id
        self.post_message(CustomerMasterLoaded(self.app.read(lambda s: customers.master_data(s, customer_id))))

    @on(CustomerMasterLoaded)
    def _loaded(self, event: CustomerMasterLoaded) -> None:
        self._fill(event.master)
        self.focus_field(self.query_one("#name", Input))

    def _fill(self, master) -> None:
        self.master = master
        self.query_one("#number", Static).update(f"Kundennummer {master.number} (aus der Abrechnung, fest)")
        self.query_one("#name", Input).value = master.name
        self.query_one("#emails", Input).value = ", ".join(master.emails)
        self.query_one("#phone", Input).value = master.phone
        self.query_one("#since", Input).value = date_de(master.customer_since)

    def prepare(self):
        from deskapp.services import customers

        master = self.master
        if master is None:
            raise FieldError("name", MSG_LOADING)
        try:
            since = parse_date(self.query_one("#since", Input).value)
        except InputError:
            raise FieldError("since", MSG_DATE) from None
        name = self.query_one("#name", Input).value
        emails = customers.split_addresses(self.query_one("#emails", Input).value)
        phone = self.query_one("#phone", Input).value
        app, customer_id, seen = self.app, self.customer_id, master.version

        def job(session):
            return customers.update_master_data(
                session, app.agent, customer_id=customer_id, seen_version=seen, name=name, emails=emails,
                phone=phone, customer_since=since, now=app.now(),
            )

        return job

    @on(FormDialog.Refused)
    def _conflict(self, event: FormDialog.Refused) -> None:
        """Someone else was first: show the customer as it is now (the message stays)."""
        error = event.error
        if isinstance(error, Conflict) and error.current is not None:
            self._fill(error.current)


__all__ = ["CustomerDialog"]
