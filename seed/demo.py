"""The demo database: a small, believable hosting and web agency desk.

Deterministic (``random.Random(seed)``), every date relative to ``now``, and built
through the services, so the demo obeys the same rules as real work. It contains the
cases of the source documents: Ivo Moring's budget shortly before expiry, Conny who keeps
putting task deadlines onto the budget expiry, a customer just under the credit limit,
held orders in contract processing, a registry failure, and the approver's absence.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deskapp.formatting import date_de, hours_label, today_berlin
from deskapp.rules.budget import add_months
from deskapp.services import agents, budget, customers, journal, orders, reminders, tickets
from deskapp.services.errors import InvalidInput
from deskapp.services.readmodels import AgentRef, CustomerHit, TicketRow
from deskapp.services.registry import SimulatedRegistry
from deskapp.settings import TIMEZONE, Policy
from models.engine import write_session
from models.enums import Priority, Queue, TicketStatus
from models.tables import (
    Agent,
    Customer,
    CustomerFileEntry,
    HourPackage,
    MessageLogEntry,
    Order,
    Task,
    Ticket,
    TimeEntry,
)

from .mail import MailStories
from .people import create_roster

IVO_ID = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
IVO_REMAINING_MINUTES = 1425  # 23:45 Std, as in the source document
IVO_DAYS_TO_EXPIRY = 16
NEAR_LIMIT_EXPOSURE = Decimal("480.00")
CUSTOMER_COUNT = 50
TICKET_COUNT = 400
HISTORY_DAYS = 42
BERLIN = ZoneInfo(TIMEZONE)
UTC = dt.timezone.utc
# Package sizes (hours) and their prices in EUR.
PACKAGES = ((10, "990.00"), (20, "1900.00"), (40, "3600.00"), (60, "5100.00"), (100, "8000.00"))


@dataclass(frozen=True)
class DemoSummary:
    agents: int
    customers: int
    tickets: int
    packages: int
    tasks: int
    time_entries: int
    orders: int
    held_orders: int
    message_log: int
    file_entries: int
    ivo_id: uuid.UUID
    conny_id: uuid.UUID
    near_limit_id: uuid.UUID


# --------------------------------------------------------------------------- word lists

FIRST = (
    "Anna", "Thomas", "Sabine", "Michael", "Julia", "Stefan", "Katrin", "Markus", "Claudia", "Andreas",
    "Petra", "Jörg", "Melanie", "Frank", "Nicole", "Jens", "Sandra", "Tobias", "Heike", "Florian",
    "Birgit", "Sebastian", "Monika", "Daniel", "Ute", "Matthias", "Kerstin", "Uwe", "Silke", "Christian",
)
LAST = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
)
PLACES = ("Lindenau", "Bergheim", "Rosenfeld", "Waldkirch", "Seeburg", "Eichenau", "Talheim", "Altstadt")
COMPANIES = (
    "{last} Steuerberatung", "Physiotherapie {last}", "{last} & {last2} Rechtsanwälte", "Tischlerei {last}",
    "Hotel {place}er Hof", "{last} Elektrotechnik GmbH", "Fahrschule {last}", "Café {first}",
    "Gartenbau {last} GbR", "{last} Immobilien GmbH", "Weingut {last}", "Friseursalon {first}",
    "Praxis Dr. {last}", "Reisebüro {place}", "Musikschule {place}", "TSV {place} e.V.",
    "{last} Maschinenbau GmbH", "Blumenhaus {last}", "Architekturbüro {last}", "{last} Fotografie",
)

# Tickets: (subject, body). Placeholders: {domain} {contact} {first} {n} {day} {amount}.
SUPPORT = (
    ("E-Mails kommen nicht mehr an", "seit heute Morgen erhalten wir keine E-Mails mehr an info@{domain}. "
     "Absender bekommen keine Fehlermeldung. Können Sie bitte nachsehen, was da los ist?"),
    ("Outlook fragt ständig nach dem Passwort", "seit dem Update fragt Outlook bei zwei Kolleginnen alle paar "
     "Minuten nach dem Passwort für das Postfach. Das Passwort stimmt aber, im Webmail geht es."),
    ("SSL-Zertifikat abgelaufen – Browser warnt", "Kunden melden uns, dass beim Aufruf von www.{domain} eine "
     "Sicherheitswarnung erscheint. Ist das Zertifikat abgelaufen?"),
    ("WordPress: weiße Seite nach Plugin-Update", "nach dem Update der Plugins heute früh zeigt {domain} nur "
     "noch eine weiße Seite. In den Admin-Bereich komme ich auch nicht mehr."),
    ("Ist die Domain noch frei?", "wir würden gern zusätzlich {first}-{place}.de registrieren. Ist die noch frei "
     "und was würde sie im Jahr kosten?"),
    ("Domainumzug zu Ihnen – AuthCode liegt vor", "wir möchten die Domain {domain} von unserem alten Anbieter zu "
     "Ihnen umziehen. Den AuthCode habe ich, wie geht es weiter?"),
    ("Neues Postfach für neue Mitarbeiterin", "ab dem {day} fängt bei uns Frau {last2} an. Bitte legen Sie ein "
     "Postfach {first}.{last2}@{domain} an."),
    ("Weiterleitung einrichten", "bitte leiten Sie alle Mails an kontakt@{domain} zusätzlich an mein "
     "Handy-Postfach weiter. Danke!"),
    ("Postfach voll", "ich bekomme die Meldung, dass mein Postfach voll ist (2 GB). Kann man das erweitern "
     "oder muss ich aufräumen?"),
    ("Kontaktformular verschickt keine Mails", "über das Kontaktformular auf {domain} kommen seit etwa einer "
     "Woche keine Anfragen mehr bei uns an. Früher ging das."),
    ("Webseite extrem langsam", "die Startseite von {domain} braucht gerade über zehn Sekunden zum Laden. "
     "Liegt das an uns oder am Server?"),
    ("MX-Eintrag für Microsoft 365 setzen", "wir stellen auf Microsoft 365 um. Bitte setzen Sie für {domain} "
     "die MX- und TXT-Einträge laut Anhang."),
    ("Subdomain shop.{domain} anlegen", "für unseren neuen Onlineshop brauchen wir die Subdomain shop.{domain}, "
     "die auf den Shop-Anbieter zeigen soll (CNAME)."),
    ("FTP-Zugang funktioniert nicht", "mit den Zugangsdaten aus Ihrer Mail komme ich per FileZilla nicht auf "
     "den Webspace: 'Anmeldung fehlgeschlagen'."),
    ("Spam im Namen unserer Domain", "Kunden bekommen Mails angeblich von rechnung@{domain}, die wir nicht "
     "verschickt haben. Können Sie da etwas tun (SPF/DMARC)?"),
    ("Backup von gestern wiederherstellen", "ich habe versehentlich die Seite 'Team' gelöscht. Können Sie den "
     "Stand von gestern Abend wiederherstellen?"),
    ("Öffnungszeiten auf der Startseite ändern", "bitte ändern Sie auf der Startseite die Öffnungszeiten: "
     "ab {day} montags geschlossen, dafür samstags 9–13 Uhr."),
    ("WordPress-Login gesperrt", "ich habe mich wohl zu oft vertippt, jetzt sagt WordPress, ich sei gesperrt. "
     "Können Sie mich wieder freischalten?"),
    ("PHP-Version aktualisieren?", "wir haben eine Mail bekommen, dass PHP 7.4 abgeschaltet wird. Müssen wir "
     "etwas tun, damit {domain} weiterläuft?"),
    ("Browser meldet 'Nicht sicher' auf Unterseiten", "auf der Startseite ist das Schloss da, auf den "
     "Unterseiten von {domain} steht aber 'Nicht sicher'."),
    ("Impressum und Datenschutzerklärung anpassen", "wir sind umgezogen, bitte passen Sie Impressum und "
     "Datenschutzerklärung auf {domain} an die neue Adresse an."),
    ("Newsletter landen im Spam", "unsere Newsletter landen bei vielen Empfängern im Spam. Ein Bekannter meinte, "
     "es fehle DKIM für {domain}."),
    ("Webmail-Passwort vergessen", "ich habe das Passwort für {first}@{domain} vergessen. Bitte setzen Sie es "
     "zurück, Rückruf gern unter der bekannten Nummer."),
    ("Wie viel Stundenbudget ist noch übrig?", "können Sie mir sagen, wie viele Stunden wir noch offen haben "
     "und bis wann die gültig sind?"),
    ("Angebot für Relaunch der Website", "unsere Seite ist in die Jahre gekommen. Können Sie uns ein Angebot "
     "für einen Relaunch mit WordPress machen?"),
)
CONTRACT = (
    ("Frage zur Rechnung RE-{year}-{n}", "in der Rechnung RE-{year}-{n} ist das Hosting doppelt berechnet. "
     "Bitte prüfen und ggf. korrigieren."),
    ("Kündigung Webhosting zum {day}", "hiermit kündigen wir das Webhosting-Paket für {domain} fristgerecht "
     "zum {day}. Die Domain möchten wir behalten."),
    ("Kreditlimit für Echtzeitbestellungen erhöhen", "wir registrieren für unsere Kunden regelmäßig Domains "
     "und stoßen an das Limit von 500 €. Können Sie es auf 1.500 € anheben?"),
    ("Neue Bankverbindung (SEPA-Mandat)", "ab sofort bitte von unserem neuen Konto abbuchen. Das unterschriebene "
     "SEPA-Mandat liegt bei."),
    ("Rechnungsadresse ändern", "bitte stellen Sie künftige Rechnungen an unsere neue Adresse in {place} aus."),
    ("Vertragsübernahme durch neue GmbH", "unser Betrieb wird zum 1. des Monats in eine GmbH umgewandelt. "
     "Was brauchen Sie für die Vertragsübernahme?"),
    ("Mahnung erhalten, aber bezahlt", "wir haben eine Mahnung über {amount} erhalten, die Rechnung aber am "
     "{day} überwiesen. Bitte prüfen."),
    ("Tarifwechsel auf Business-Paket", "wir brauchen mehr Speicher und Postfächer. Bitte stellen Sie uns auf "
     "das Business-Paket um."),
    ("Gutschrift für Ausfallzeit?", "unsere Seite war am {day} mehrere Stunden nicht erreichbar. Gibt es dafür "
     "eine Gutschrift?"),
    ("Stundenpaket nachbuchen", "wir möchten weitere 20 Stunden buchen. Bitte schicken Sie uns die "
     "Auftragsbestätigung."),
)
TECHNICAL = (
    ("web{n}: HTTP 502 auf mehreren Sites", "Monitoring meldet seit {time} Uhr 502 Bad Gateway für mehrere "
     "Kunden auf web{n}. PHP-FPM-Pool vermutlich voll."),
    ("DNS-Zone {domain}: Änderung kommt nicht an", "Die geänderten A-Records für {domain} werden auf ns2 nicht "
     "ausgeliefert. Seriennummer der Zone prüfen."),
    ("Let's-Encrypt-Erneuerung schlägt fehl: {domain}", "Die automatische Erneuerung für {domain} bricht mit "
     "'unauthorized' ab. Der Kunde hat vermutlich die DNS-Einträge geändert."),
    ("Mailqueue auf mx{n} staut sich", "Auf mx{n} liegen über 4.000 Mails in der Queue, überwiegend an "
     "t-online.de (Deferred: 421)."),
    ("Datenbank-Import bricht ab", "Import des Dumps für {domain} bricht mit 'max_allowed_packet' ab. "
     "Kunde wartet auf den Umzug."),
    ("Cronjob des Kunden läuft nicht mehr", "Der nächtliche Export-Cronjob für {domain} läuft seit dem {day} "
     "nicht mehr. Pfad nach PHP-Update prüfen."),
    ("Storage-Node st{n} zu 92 % voll", "st{n} hat nur noch 8 % frei. Alte Backups aufräumen oder Volumes "
     "verschieben."),
    ("DNSSEC-Validierung fehlerhaft: {domain}", "DS-Record bei der Registry passt nicht mehr zum Schlüssel. "
     "Resolver liefern SERVFAIL."),
    ("Malware-Fund in wp-content/uploads", "Scanner hat auf dem Webspace von {domain} eine PHP-Shell in "
     "wp-content/uploads gefunden. Account gesperrt, Bereinigung nötig."),
    ("Mail-IP auf Blacklist", "Die ausgehende IP von mx{n} steht seit heute auf einer Blacklist. Ursache "
     "vermutlich ein kompromittiertes Postfach."),
    ("PHP 8.3: Fatal Error im Shop", "Nach der Umstellung auf PHP 8.3 wirft der Shop auf {domain} einen "
     "Fatal Error (veraltetes Plugin)."),
    ("Backup-Job nachts fehlgeschlagen", "Der Backup-Lauf auf backup{n} ist um 03:12 mit Timeout abgebrochen. "
     "Bitte manuell nachholen."),
)
ADMIN = (
    ("Genehmigung: Kulanzgutschrift {amount}", "Bitte um Genehmigung einer Kulanzgutschrift über {amount} wegen der "
     "Störung am {day}. Der Kunde ist langjährig und war sehr geduldig."),
    ("Genehmigung: Sonderkonditionen Stundenpaket", "Der Kunde möchte 100 Stunden abnehmen und fragt nach 10 % "
     "Rabatt. Bitte um Genehmigung."),
    ("Genehmigung: Zahlungsziel 30 Tage", "Der Kunde bittet bei der nächsten Rechnung um 30 statt 14 Tage "
     "Zahlungsziel. Bitte um Genehmigung."),
    ("Genehmigung: Zugang für neue Aushilfe", "Ab dem {day} unterstützt uns eine Aushilfe im Support. Bitte "
     "Genehmigung für einen Desk-Zugang mit Rolle Support."),
)
NOTES = (
    "Kunde telefonisch informiert.",
    "Logs geprüft, warte auf Rückmeldung des Kunden.",
    "Habe die Einstellungen korrigiert, Kunde testet.",
    "Rückruf für morgen Vormittag vereinbart.",
    "Ursache gefunden, Lösung per Mail an den Kunden.",
    "Mit Kai abgestimmt, betrifft nur diesen Kunden.",
    "Kunde hat Zugangsdaten erneut erhalten.",
    "Erledigt, Kunde hat sich bedankt.",
)
QUEUE_WORKERS = {
    Queue.SUPPORT: ("tom", "lena", "rebekka", "tom", "lena"),
    Queue.CONTRACT: ("sara",),
    Queue.TECHNICAL: ("kai",),
    Queue.ADMIN: ("isabel", "rebekka"),
}
QUEUE_SHARE = ((Queue.SUPPORT, 0.60), (Queue.TECHNICAL, 0.20), (Queue.CONTRACT, 0.15), (Queue.ADMIN, 0.05))
PRIORITY_WEIGHTS = {
    Queue.SUPPORT: (0.15, 0.6, 0.2, 0.05),
    Queue.CONTRACT: (0.25, 0.6, 0.15, 0.0),
    Queue.TECHNICAL: (0.05, 0.45, 0.35, 0.15),
    Queue.ADMIN: (0.1, 0.7, 0.2, 0.0),
}


def _slug(text: str) -> str:
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("&", "und")):
        text = text.replace(a, b)
    text = re.sub(r"\b(gmbh|gbr|ug|e\.v\.|kg|dr\.)", "", text)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


@dataclass(frozen=True)
class _Person:
    customer: CustomerHit
    first: str
    last: str
    domain: str


class _Demo:
    def __init__(self, session: Session, now: dt.datetime, seed: int):
        self.s = session
        self.now = now
        self.today = today_berlin(now)
        self.rng = random.Random(seed)
        self.policy = Policy()
        self.people: dict[str, AgentRef] = {}
        self.customers: list[_Person] = []
        self.budget_customers: set[uuid.UUID] = set()

    # ------------------------------------------------------------------ time helpers

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A Berlin wall-clock moment as aware UTC, never later than now."""
        moment = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).astimezone(UTC)
        return min(moment, self.now)

    def ago(self, **delta) -> dt.datetime:
        return self.now - dt.timedelta(**delta)

    def working_moment(self, days_ago: int) -> dt.datetime:
        day = self.today - dt.timedelta(days=days_ago)
        if days_ago == 0:
            return self.ago(minutes=self.rng.randint(3, 420))
        return self.at(day, self.rng.randint(7, 18), self.rng.randint(0, 59))

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # ------------------------------------------------------------------ customers

    def customer(self, name: str, *, first: str, last: str, domain: str, age_days: int,
                 customer_id: uuid.UUID | None = None) -> _Person:
        hit = customers.create_customer(
            self.s, self.people["sara"],
            name=name,
            email=f"{_slug(first)}.{_slug(last)}@{domain.rsplit('.', 1)[0]}.example",
            phone=f"+49 {self.rng.choice(('30', '40', '89', '221', '69', '711', '351'))} "
                  f"{self.rng.randint(100000, 9999999)}",
            credit_limit=self.policy.default_credit_limit,
            customer_id=customer_id or self.uuid(),
            created_at=self.ago(days=age_days, minutes=self.rng.randint(0, 600)),
            now=self.now,
        )
        person = _Person(hit, first, last, domain)
        self.customers.append(person)
        return person

    def generic_customers(self, count: int) -> None:
        used = {p.customer.name for p in self.customers}
        while len(self.customers) < count:
            first, last, last2 = self.rng.choice(FIRST), self.rng.choice(LAST), self.rng.choice(LAST)
            if self.rng.random() < 0.35:
                name = f"{first} {last}"
                domain = f"{_slug(first)}-{_slug(last)}.de"
            else:
                name = self.rng.choice(COMPANIES).format(
                    first=first, last=last, last2=last2, place=self.rng.choice(PLACES)
                )
                domain = f"{_slug(name)}.de"
            if name in used:
                continue
            used.add(name)
            self.customer(name, first=first, last=last, domain=domain, age_days=self.rng.randint(120, 3000))

    # ------------------------------------------------------------------ budgets

    def package(self, person: _Person, *, hours: int, valid_until: dt.date, who: str = "sara") -> int:
        price = dict(PACKAGES).get(hours) or str(hours * 95)
        purchased = add_months(valid_until, -self.policy.package_validity_months)
        when = self.at(purchased, 11, 5)
        view = budget.book_package(
            self.s, self.people[who], customer_id=person.customer.id, minutes=hours * 60,
            price=Decimal(price), purchased_on=purchased, now=when, policy=self.policy,
        )
        self.budget_customers.add(person.customer.id)
        return view.id

    def log(self, person: _Person, minutes: int, when: dt.datetime, *, who: str, note: str,
            ticket_id: int | None = None, task_id: int | None = None) -> bool:
        try:
            budget.log_time(
                self.s, self.people[who], customer_id=person.customer.id, minutes=minutes, now=when,
                policy=self.policy, ticket_id=ticket_id, task_id=task_id, note=note,
            )
        except InvalidInput:
            return False
        return True

    def generic_budgets(self, persons: list[_Person]) -> None:
        horizons = (
            ("days", 2, 10), ("weeks", 14, 60), ("months", 61, 365), ("long", 366, 700), ("expired", -300, -5),
        )
        for i, person in enumerate(persons):
            _, low, high = horizons[i % len(horizons)]
            for extra in range(self.rng.choice((1, 1, 2))):
                offset = self.rng.randint(low, high) + extra * 200
                until = self.today + dt.timedelta(days=min(offset, 700))
                hours = self.rng.choice((10, 20, 20, 40, 60, 100))
                self.package(person, hours=hours, valid_until=until)
                purchased = add_months(until, -self.policy.package_validity_months)
                last_day = min(self.today, until)
                share = self.rng.uniform(0.1, 0.9)
                chunks = self.rng.randint(1, 4)
                for _ in range(chunks):
                    day = purchased + dt.timedelta(days=self.rng.randint(1, max(1, (last_day - purchased).days)))
                    minutes = max(15, int(hours * 60 * share / chunks) // 15 * 15)
                    self.log(person, minutes, self.at(day, self.rng.randint(8, 17)),
                             who=self.rng.choice(("tom", "lena", "kai")), note="Wartung und Pflege")

    def ivo(self) -> _Person:
        """Ivo Moring: 23:45 Std left, expiring in a little over two weeks, reminders sent."""
        person = self.customer("Ivo Moring", first="Ivo", last="Moring", domain="moring-design.de",
                               age_days=1600, customer_id=IVO_ID)
        until = self.today + dt.timedelta(days=IVO_DAYS_TO_EXPIRY)
        package_id = self.package(person, hours=60, valid_until=until)
        purchased = add_months(until, -self.policy.package_validity_months)
        to_use = 60 * 60 - IVO_REMAINING_MINUTES
        work = (
            (30, "Shop-Relaunch Konzept", "lena"), (120, "Theme-Anpassungen", "lena"),
            (200, "Produktimport", "tom"), (90, "SSL und Weiterleitungen", "kai"),
        )
        step = (self.today - purchased).days // (len(work) + 2)
        for i, (days_after, note, who) in enumerate(work):
            chunk = to_use // len(work) if i < len(work) - 1 else to_use - (to_use // len(work)) * (len(work) - 1)
            day = purchased + dt.timedelta(days=step * (i + 1) + days_after % step)
            assert self.log(person, chunk, self.at(day, 14), who=who, note=note)
        # The reminder job ran on each stage's day (6:00) and sent that stage.
        for stage in self.policy.reminder_stages:
            day = add_months(until, -stage)
            if day <= self.today:
                sent = reminders.send_reminders(
                    self.s, policy=self.policy, now=self.at(day, 6, 0), today=day, customer_id=person.customer.id,
                    actor=self.people["system"],
                )
                assert [(i.package_id, i.stage) for i in sent.items] == [(package_id, stage)]
        journal.add_file_entry(
            self.s, self.people["tom"], customer_id=person.customer.id, now=self.ago(days=1, hours=2),
            text=f"Kunde fragt nach Verlängerung des Restbudgets ({hours_label(IVO_REMAINING_MINUTES)}, "
                 f"gültig bis {date_de(until)}); Shop-Relaunch ist für nächsten Monat geplant.",
        )
        return person

    def conny(self) -> _Person:
        """Conny: four tasks within the year with deadlines on a budget expiry (a repeat case)."""
        person = self.customer("Conny Albrecht", first="Conny", last="Albrecht", domain="albrecht-textil.de",
                               age_days=1900)
        old_until = self.today - dt.timedelta(days=150)
        new_until = self.today + dt.timedelta(days=20)
        self.package(person, hours=20, valid_until=old_until)
        self.package(person, hours=40, valid_until=new_until)
        self.log(person, 420, self.at(old_until - dt.timedelta(days=300), 10), who="lena", note="Shop-Pflege")
        self.log(person, 600, self.at(self.today - dt.timedelta(days=90), 10), who="lena", note="Kampagne Herbst")
        plan = (
            (200, old_until - dt.timedelta(days=3), "Produktfotos einpflegen", 300, 48),
            (170, old_until, "Sommerkollektion Landingpage", 480, None),
            (12, new_until - dt.timedelta(days=2), "Newsletter-Vorlage überarbeiten", 600, None),
            (3, new_until, "Relaunch Über-uns-Seite", 300, None),
        )
        task_ids = []
        for created_days_ago, deadline, title, estimate, close_after in plan:
            when = self.at(self.today - dt.timedelta(days=created_days_ago), 9, 40)
            view = budget.create_task(
                self.s, self.people["lena"], customer_id=person.customer.id, title=title,
                estimate_minutes=estimate, deadline=deadline, now=when, policy=self.policy,
            )
            assert view.workaround
            task_ids.append(view.id)
            if close_after is not None:
                self.log(person, estimate, when + dt.timedelta(days=close_after), who="lena", note=title,
                         task_id=view.id)
                budget.close_task(self.s, self.people["lena"], task_id=view.id,
                                  now=when + dt.timedelta(days=close_after), policy=self.policy)
        journal.add_file_entry(
            self.s, self.people["sara"], customer_id=person.customer.id, now=self.ago(days=140),
            text="Kundin setzt Deadlines regelmäßig auf den Budgetverfall. Bitte Budgetverfall in der "
                 "Visitenkarte prüfen und sie darauf hinweisen; Verlängerung nur mit Genehmigung durch Isabel.",
        )
        ticket = tickets.open_ticket(
            self.s, self.people["lena"], queue=Queue.SUPPORT, priority=Priority.HIGH,
            subject="Aufgabe mit Deadline auf Budgetverfall: Newsletter-Vorlage",
            body=f"Conny Albrecht hat die Aufgabe 'Newsletter-Vorlage überarbeiten' mit Deadline "
                 f"{date_de(new_until - dt.timedelta(days=2))} angelegt – zwei Tage vor Ablauf des Budgets am "
                 f"{date_de(new_until)}. Das ist in der Sache eine Budgetverlängerung und braucht eine Genehmigung.",
            customer_id=person.customer.id, task_id=task_ids[2], flags=("workaround",),
            now=self.at(self.today - dt.timedelta(days=12), 10, 5),
        )
        tickets.claim(self.s, self.people["lena"], ticket, now=self.at(self.today - dt.timedelta(days=12), 10, 30))
        return person

    # ------------------------------------------------------------------ orders

    def orders(self, krume: _Person, seidel: _Person, brenner: _Person, neuhaus: _Person,
               domainpark: _Person, lindner: _Person, others: list[_Person]) -> list[tuple[dt.datetime, object]]:
        """Order events as (when, action), merged with the tickets by time."""
        ok = SimulatedRegistry()
        events: list[tuple[dt.datetime, object]] = []

        def order(person, item, amount, when, registry=ok, who="system"):
            def run():
                return orders.place_order(
                    self.s, self.people[who], customer_id=person.customer.id, item=item,
                    amount=Decimal(amount), now=when, policy=self.policy, registry=registry,
                )
            events.append((when, run))

        # Just under the limit: 480.00 EUR executed, not yet settled.
        for days, item, amount in (
            (40, "krume-backshop.de", "12.00"), (33, "SSL-Zertifikat Wildcard *.krume-backshop.de", "189.00"),
            (21, "Domainpaket .de/.com/.shop (5 Domains)", "79.00"), (6, "Managed-Server-Einrichtung", "200.00"),
        ):
            order(krume, item, amount, self.working_moment(days))
        # Held, not conspicuous, one of them overdue.
        order(seidel, "seidel-autohaus.de", "380.00", self.working_moment(30))
        order(seidel, "SSL-Zertifikat EV seidel-autohaus.de", "159.00", self.working_moment(1))
        order(brenner, "weingut-brenner-shop.de + SSL", "530.00", self.ago(minutes=95))
        # Held and conspicuous: a customer of a few days ordering far over the limit.
        order(neuhaus, "Premium-Domain neuhaus-immobilien.com", "890.00", self.ago(hours=3, minutes=10))
        # Held and conspicuous: a burst of orders within the hour.
        start = self.ago(minutes=75)
        for i in range(11):
            order(domainpark, f"park-{i + 1:02d}-nord.de", "9.90", start + dt.timedelta(minutes=3 * i))
        order(domainpark, "nord-domains-premium.de", "430.00", start + dt.timedelta(minutes=38))
        # A registry failure: the Technik ticket.
        failing = SimulatedRegistry(fail_items={"praxis-lindner.de"})
        order(lindner, "praxis-lindner.de", "12.00", self.ago(hours=2, minutes=20), registry=failing, who="tom")
        order(lindner, "zahnarzt-lindner.de", "12.00", self.ago(days=3, hours=1), registry=SimulatedRegistry(
            unreachable=True))
        # Ordinary executed orders, some of them long settled.
        for person in others:
            for _ in range(self.rng.randint(1, 3)):
                item = self.rng.choice(("{d}", "SSL-Zertifikat {d}", "{s}.shop", "{s}.online", "{s}.com"))
                stem = person.domain.rsplit(".", 1)[0]
                amount = self.rng.choice(("12.00", "12.00", "24.00", "39.00", "59.00", "89.00"))
                when = self.working_moment(self.rng.randint(1, HISTORY_DAYS))
                order(person, item.format(d=person.domain, s=stem), amount, when)
        return events

    def settle_old_orders(self, persons: list[_Person]) -> None:
        """Invoiced and paid: most executed orders older than four weeks are settled."""
        cutoff = self.ago(days=28)
        rows = self.s.execute(
            select(Order.id, Order.created_at)
            .where(Order.status == "executed", Order.customer_id.in_([p.customer.id for p in persons]))
            .order_by(Order.id)
        ).all()
        for order_id, created_at in rows:
            if created_at < cutoff and self.rng.random() < 0.8:
                orders.settle_order(self.s, self.people["sara"], order_id=order_id,
                                    now=created_at + dt.timedelta(days=21))

    # ------------------------------------------------------------------ tickets

    def ticket_specs(self, count: int, exclude: set[uuid.UUID]) -> list[tuple[dt.datetime, object]]:
        pool = [p for p in self.customers if p.customer.id not in exclude]
        events = []
        for _ in range(count):
            roll, queue = self.rng.random(), Queue.SUPPORT
            acc = 0.0
            for q, share in QUEUE_SHARE:
                acc += share
                if roll < acc:
                    queue = q
                    break
            templates = {Queue.SUPPORT: SUPPORT, Queue.CONTRACT: CONTRACT, Queue.TECHNICAL: TECHNICAL,
                         Queue.ADMIN: ADMIN}[queue]
            subject, body = self.rng.choice(templates)
            person = self.rng.choice(pool)
            days_ago = min(HISTORY_DAYS, int(self.rng.expovariate(1 / 9)))
            when = self.working_moment(days_ago)
            if when.astimezone(BERLIN).weekday() >= 5 and self.rng.random() < 0.7:
                when = self.working_moment(days_ago + 2 if days_ago + 2 <= HISTORY_DAYS else days_ago - 2)
            facts = dict(
                domain=person.domain, first=person.first.lower(), last2=self.rng.choice(LAST),
                place=self.rng.choice(PLACES), n=self.rng.randint(1, 12), year=self.today.year,
                day=date_de(self.today + dt.timedelta(days=self.rng.randint(-20, 40))),
                amount=f"{self.rng.choice((25, 49, 85, 120, 240))},00 €",
                time=f"{self.rng.randint(0, 23):02d}:{self.rng.choice(('05', '20', '40'))}",
            )
            subject = subject.format(**facts)
            text = body.format(**facts)
            if queue in (Queue.SUPPORT, Queue.CONTRACT):
                text = f"Guten Tag,\n\n{text}\n\nViele Grüße\n{person.first} {person.last}\n{person.customer.name}"
            priority = self.rng.choices(list(Priority), weights=PRIORITY_WEIGHTS[queue])[0]
            # Infrastructure tickets often concern no single customer.
            customer = None if queue == Queue.TECHNICAL and "{domain}" not in body else person
            opener = "system" if queue in (Queue.SUPPORT, Queue.CONTRACT) else self.rng.choice(
                QUEUE_WORKERS[Queue.SUPPORT] if queue == Queue.ADMIN else ("kai", "system")
            )
            events.append((when, self._ticket_action(queue, subject, text, priority, customer, opener, when)))
        return events

    def _ticket_action(self, queue, subject, body, priority, person, opener, when):
        rng_state = self.rng.random()  # each ticket's lifecycle gets its own stream

        def run():
            row = tickets.open_ticket(
                self.s, self.people[opener], queue=queue, subject=subject, body=body, priority=priority,
                customer_id=person.customer.id if person else None, now=when,
            )
            self._lifecycle(row, person, random.Random(rng_state))
            return row

        return run

    def _lifecycle(self, row: TicketRow, person: _Person | None, rng: random.Random) -> None:
        age_days = (self.now - row.created_at).total_seconds() / 86400
        if age_days < 0.5:
            weights = (0.6, 0.3, 0.1, 0.0)
        elif age_days < 3:
            weights = (0.2, 0.35, 0.2, 0.25)
        elif age_days < 10:
            weights = (0.05, 0.2, 0.15, 0.6)
        else:
            weights = (0.02, 0.08, 0.08, 0.82)
        target = rng.choices(list(TicketStatus), weights=weights)[0]
        if target == TicketStatus.NEW:
            return
        span = max(60, int((self.now - row.created_at).total_seconds() // 60))
        worker = self.people[rng.choice(QUEUE_WORKERS[Queue(row.queue)])]
        claimed_at = row.created_at + dt.timedelta(minutes=rng.randint(2, min(span // 2, 240)))
        claimed_at = min(claimed_at, self.now)
        row = tickets.claim(self.s, worker, row, now=claimed_at)
        later = min(self.now, claimed_at + dt.timedelta(minutes=rng.randint(10, max(11, span // 2))))
        if rng.random() < 0.3:
            row = tickets.add_note(self.s, worker, row.id, text_=rng.choice(NOTES), now=later)
        if rng.random() < 0.06:
            row = tickets.toggle_flag(self.s, worker, row, flag="flagged", now=later)
        if target in (TicketStatus.WAITING, TicketStatus.RESOLVED):
            row = tickets.set_status(self.s, worker, row, status=target, now=later)
            if (
                person is not None
                and row.queue in (Queue.SUPPORT, Queue.TECHNICAL)
                and person.customer.id in self.budget_customers
                and rng.random() < 0.4
            ):
                self.log(person, rng.choice((15, 30, 45, 60, 90)), later, who=worker.login,
                         note=row.subject[:255], ticket_id=row.id)

    # ------------------------------------------------------------------ the rest

    def file_entries(self, persons: list[_Person]) -> None:
        texts = (
            "Ansprechpartner gewechselt, neue Durchwahl hinterlegt.",
            "Kunde wünscht Kommunikation nur per E-Mail.",
            "Zahlungserinnerung telefonisch besprochen, Zahlung zugesagt.",
            "Relaunch für das nächste Quartal angefragt, Angebot folgt.",
            "Kunde hat Domain-Portfolio reduziert (3 Domains gekündigt).",
        )
        for person in persons:
            journal.add_file_entry(
                self.s, self.people[self.rng.choice(("tom", "lena", "sara"))], customer_id=person.customer.id,
                text=self.rng.choice(texts), now=self.working_moment(self.rng.randint(1, 300)),
            )

    def info_messages(self, persons: list[_Person]) -> None:
        day = self.today - dt.timedelta(days=9)
        for person in persons:
            journal.log_message(
                self.s, customer_id=person.customer.id, kind="maintenance", actor=self.people["system"],
                subject=f"Wartungsarbeiten am {date_de(day)}",
                body=f"Guten Tag,\n\nam {date_de(day)} zwischen 22:00 und 23:00 Uhr warten wir unsere "
                     "Mailserver. Kurzzeitige Verzögerungen beim Mailempfang sind möglich.\n\n"
                     "Mit freundlichen Grüßen\nIhr Support-Team",
                now=self.at(day - dt.timedelta(days=3), 16), queue_mail=False,
            )


def _extension_request(demo: _Demo, person: _Person, now: dt.datetime) -> None:
    """Tom asks for Conny's budget to be extended — her task deadline sits on its expiry.

    Filed through the service: routed by today's absences, rebooking recorded on the spot
    when the remainder is under the threshold. It waits in the admin channel.
    """
    from deskapp.rules.extension import needs_rebooking
    from deskapp.services import extensions

    tom = demo.people["tom"]
    form = extensions.draft(demo.s, tom, person.customer.id, now=now, policy=demo.policy)
    target = next(t for t in form.targets if not t.expired)
    task = next((t for t in form.open_tasks if t.expiry_hit == target.valid_until), None)
    rebooking = None
    if needs_rebooking(target.remaining_minutes, demo.policy):
        rebooking = extensions.NewPackage(
            minutes=PACKAGES[1][0] * 60, price=Decimal(PACKAGES[1][1]), purchased_on=demo.today,
            label=f"Nachbuchung {PACKAGES[1][0]} Std",
        )
    extensions.request_extension(
        demo.s, tom, customer_id=person.customer.id, valid_until=target.valid_until, months=1,
        task_id=task.id if task else None, new_package=rebooking, now=now, policy=demo.policy,
    )


def build_demo(engine: Engine, *, now: dt.datetime, seed: int = 7) -> DemoSummary:
    """Fill an empty, migrated database with the demo and mark it as a demo database."""
    with write_session(engine) as session:
        if session.execute(select(func.count()).select_from(Agent)).scalar_one():
            raise InvalidInput("Die Demo wird nur in eine leere Datenbank geschrieben.")
        demo = _Demo(session, now, seed)
        demo.people = create_roster(session)
        agents.mark_demo_database(session)
        ivo = demo.ivo()
        conny = demo.conny()
        krume = demo.customer("Bäckerei Krume GmbH", first="Heinz", last="Krume", domain="krume-backshop.de",
                              age_days=2200)
        seidel = demo.customer("Autohaus Seidel GmbH", first="Ralf", last="Seidel", domain="seidel-autohaus.de",
                               age_days=1400)
        brenner = demo.customer("Weingut Brenner", first="Eva", last="Brenner", domain="weingut-brenner.de",
                                age_days=800)
        neuhaus = demo.customer("Neuhaus Immobilien UG", first="Tim", last="Neuhaus",
                                domain="neuhaus-immobilien.de", age_days=6)
        domainpark = demo.customer("Domainpark Nord GmbH", first="Lars", last="Petersen",
                                   domain="domainpark-nord.de", age_days=95)
        lindner = demo.customer("Zahnarztpraxis Dr. Lindner", first="Miriam", last="Lindner",
                                domain="praxis-lindner.de", age_days=1100)
        demo.generic_customers(CUSTOMER_COUNT)
        generic = demo.customers[8:]
        demo.generic_budgets(generic[: len(generic) * 3 // 5])
        events = demo.orders(krume, seidel, brenner, neuhaus, domainpark, lindner, generic[::3])
        events += demo.ticket_specs(TICKET_COUNT, exclude={ivo.customer.id, conny.customer.id})
        stories = MailStories(session, demo.people, demo.policy, demo.ago)

        def contact(person: _Person) -> tuple[str, str]:
            return f"{person.first} {person.last}", person.customer.email

        # Ivo asks by mail for his budget to be extended: a Support ticket on which e opens the form.
        events.append((
            demo.ago(days=1, hours=3),
            lambda: stories.extension_request(
                *contact(ivo),
                body=f"Hallo,\n\nunser Stundenbudget läuft am {date_de(demo.today + dt.timedelta(days=IVO_DAYS_TO_EXPIRY))} "
                     f"ab, es sind noch {hours_label(IVO_REMAINING_MINUTES)} übrig. Der Shop-Relaunch startet "
                     "erst nächsten Monat – können Sie das Budget verlängern?\n\nViele Grüße\nIvo Moring",
            ),
        ))
        # The mail stories (docs/rules.md#mail): a thread answered and answered back, an unknown
        # sender, an HTML-only mail, an auto-reply, a bounce, an attachment.
        events += [
            (demo.ago(days=3, hours=5), lambda: stories.thread_with_answer(*contact(krume))),
            (demo.ago(days=1, hours=6), stories.unknown_sender),
            (demo.ago(days=2, hours=3), lambda: stories.html_only(*contact(seidel))),
            (demo.ago(days=4, hours=4), lambda: stories.auto_reply(*contact(brenner))),
            (demo.ago(days=5, hours=6), lambda: stories.bounce(*contact(lindner), wrong="buchhaltung@praxis-lindner-alt.example")),
            (demo.ago(hours=5), lambda: stories.attachment(*contact(neuhaus))),
        ]
        for _, action in sorted(events, key=lambda e: e[0]):
            action()
        demo.settle_old_orders(generic[::3])
        demo.file_entries(generic[::4])
        demo.info_messages(generic[1::5])
        # This morning's run of the reminder job (hourly from cron on a real desk): the outbox has work.
        reminders.send_reminders(session, policy=demo.policy, now=demo.at(demo.today, 6, 0),
                                 actor=demo.people["system"])
        isabel = demo.people["isabel"]
        agents.record_absence(
            session, isabel, agent_id=isabel.id, first_day=demo.today + dt.timedelta(days=2),
            last_day=demo.today + dt.timedelta(days=2), reason="vacation", note="Urlaubstag", now=now,
        )
        _extension_request(demo, conny, now)
        session.flush()

        def count(table) -> int:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())

        return DemoSummary(
            agents=count(Agent),
            customers=count(Customer),
            tickets=count(Ticket),
            packages=count(HourPackage),
            tasks=count(Task),
            time_entries=count(TimeEntry),
            orders=count(Order),
            held_orders=int(session.execute(
                select(func.count()).select_from(Order).where(Order.status == "held")
            ).scalar_one()),
            message_log=count(MessageLogEntry),
            file_entries=count(CustomerFileEntry),
            ivo_id=ivo.customer.id,
            conny_id=conny.customer.id,
            near_limit_id=krume.customer.id,
        )


__all__ = ["DemoSummary", "IVO_ID", "build_demo"]
