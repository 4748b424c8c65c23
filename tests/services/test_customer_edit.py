"""A customer's master data edited on the card (services.customers.update_master_data),
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from deskapp.services import customers
from deskapp.services.errors import Conflict, InvalidInput, PermissionDenied
from models.engine import read_session, write_session
from models.tables import AuditLog, Customer, CustomerEmail


def master(engine, customer):
    with read_session(engine) as s:
        return customers.master_data(s, customer.id)


def edit(engine, actor, customer, now, *, seen=None, **changes):
    current = master(engine, customer)
    fields = {
        "name": current.name, "emails": list(current.emails), "phone": current.phone,
        "customer_since": current.customer_since, **changes,
    }
    with write_session(engine) as s:
        return customers.update_master_data(
            s, actor, customer_id=customer.id, seen_version=current.version if seen is None else seen,
            now=now, **fields,
        )


def audit_rows(engine, customer):
    with read_session(engine) as s:
        return s.execute(
            select(AuditLog.agent_login, AuditLog.old, AuditLog.new)
            .where(AuditLog.action == "customer.update", AuditLog.entity_id == str(customer.id))
        ).all()


def test_contract_processing_edits_name_addresses_phone_and_since(engine, people, customer, now):
    before = master(engine, customer)
    assert before.emails == ("ivo@moring.example",)
    since = before.customer_since - dt.timedelta(days=10)
    after = edit(engine, people["sara"], customer, now, name="Ivo Moring GmbH",
                 emails=["buero@moring.example", "Ivo@Moring.example"], phone="+49 30 1234", customer_since=since)
    assert after.name == "Ivo Moring GmbH"
    assert after.emails == ("buero@moring.example", "Ivo@Moring.example")
    assert after.phone == "+49 30 1234"
    assert after.customer_since == since
    assert after.version == before.version + 1
    with read_session(engine) as s:
        row = s.get(Customer, customer.id)
        assert row.email == "buero@moring.example"  # the mirrored first address
        keys = s.execute(select(CustomerEmail.address_key).where(CustomerEmail.customer_id == customer.id)
                         .order_by(CustomerEmail.position)).scalars().all()
        assert keys == ["buero@moring.example", "ivo@moring.example"]
    [entry] = audit_rows(engine, customer)
    assert entry.agent_login == "sara"
    old, new = json.loads(entry.old), json.loads(entry.new)
    assert old["name"] == "Ivo Moring" and new["name"] == "Ivo Moring GmbH"
    assert old["emails"] == ["ivo@moring.example"]
    assert new["emails"] == ["buero@moring.example", "Ivo@Moring.example"]
    assert new["customer_since"] == since.isoformat()


def test_admin_may_edit_and_only_the_changed_fields_are_audited(engine, people, customer, now):
    edit(engine, people["isabel"], customer, now, phone="030 99")
    [entry] = audit_rows(engine, customer)
    assert json.loads(entry.old) == {"phone": ""} and json.loads(entry.new) == {"phone": "030 99"}


@pytest.mark.parametrize("login", ["tom", "kai", "system"])
def test_others_are_refused_in_the_service(engine, people, customer, now, login):
    with pytest.raises(PermissionDenied, match="darf Stammdaten"):
        edit(engine, people[login], customer, now, name="Anders")
    assert master(engine, customer).name == "Ivo Moring"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": "  "}, "name", "braucht einen Namen"),
    ({"name": "x" * 256}, "name", "höchstens 255"),
    ({"name": "Ivo\x1bMoring"}, "name", r"Steuerzeichen \(U\+001B\)"),
    ({"name": "Ivo\u202eMoring"}, "name", r"Steuerzeichen \(U\+202E\)"),
    ({"emails": []}, "emails", "mindestens eine E-Mail-Adresse"),
    ({"emails": ["ivo.moring.example"]}, "emails", "es fehlt das @"),
    ({"emails": ["ivo@moring"]}, "emails", "keine E-Mail-Adresse"),
    ({"emails": ["a@b.de", "A@b.de"]}, "emails", "zweimal"),
    ({"emails": [f"a{i}@b.de" for i in range(21)]}, "emails", "Höchstens 20"),
    ({"phone": "1" * 65}, "phone", "länger als 64"),
    ({"phone": "030\t12"}, "phone", "Steuerzeichen"),
    ({"customer_since": dt.date(2030, 1, 1)}, "customer_since", "Zukunft"),
    ({}, None, "Nichts geändert"),
])
def test_bad_input_is_refused_in_german_and_nothing_is_written(engine, people, customer, now, changes, field,
                                                                message):
    before = master(engine, customer)
    with pytest.raises(InvalidInput, match=message) as refused:
        edit(engine, people["sara"], customer, now, **changes)
    assert refused.value.field == field
    assert master(engine, customer) == before
    assert audit_rows(engine, customer) == []


def test_a_stale_version_is_a_conflict_naming_who_changed_it(engine, people, customer, now):
    seen = master(engine, customer).version
    edit(engine, people["isabel"], customer, now, name="Ivo Moring KG")
    with pytest.raises(Conflict, match="inzwischen von isabel geändert") as lost:
        edit(engine, people["sara"], customer, now, seen=seen, name="Ivo Moring GmbH")
    assert lost.value.current.name == "Ivo Moring KG"
    assert master(engine, customer).name == "Ivo Moring KG"
    assert len(audit_rows(engine, customer)) == 1


def test_split_addresses_takes_commas_semicolons_and_spaces():
    assert customers.split_addresses(" a@b.de, c@d.de;e@f.de  g@h.de ") == ["a@b.de", "c@d.de", "e@f.de", "g@h.de"]
    assert customers.split_addresses("") == []
