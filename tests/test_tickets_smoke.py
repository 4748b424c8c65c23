from models.engine import read_session, write_session
from deskapp.services import tickets


def test_open_and_list(engine, people, now):
    with write_session(engine) as s:
        tickets.open_ticket(s, people["tom"], queue="support", subject="Hallo", now=now)
    with read_session(engine) as s:
        page = tickets.list_page(s, people["tom"], tickets.TicketFilter())
    assert [r.subject for r in page.rows] == ["Hallo"]
