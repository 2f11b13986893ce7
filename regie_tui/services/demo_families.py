"""The households of the demo town, generated one family at a time, in batches of rows.

Everything is drawn from one ``random.Random`` and one seeded Faker, in family order,
so the same seed and the same "today" give the same rows, ids included. Bookings are
streamed: a batch of families is generated, written, then forgotten; only the payments
wait for the end, to be numbered in the order they were received. The generator never
touches the database, so a large town can be generated in a second process
(:func:`generate_into`) while the first one writes.

Conventions a service reading these rows can rely on:
- a ChangeRequest that creates an entity has ``entity_id`` empty, ``field = "new"`` and
  the new row's fields as a JSON object in ``new_value``; a diet request has
  ``entity = "child"``, ``field = "diet"`` and the diet's label in ``new_value``;
- invoices are numbered ``{prefix}-F{yymm}{seq:05d}`` where yymm is the billed month,
  receipts ``{prefix}-R{yymm}{seq:05d}`` and credit notes ``{prefix}-A{yymm}{seq:05d}``
  by month of receipt or issue; each series is a NumberSequence row named
  ``invoice:``, ``receipt:`` or ``credit_note:`` followed by the number's prefix.
"""

import json
import random
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from faker import Faker
from unidecode import unidecode

from regie_tui.clock import PARIS
from regie_tui.models import CASH_LIMIT_CENTS
from regie_tui.services.demo_bulk import Batch, Formats
from regie_tui.services.demo_reference import ActivityInfo, DayInfo, GroupInfo, MonthInfo, Reference
from regie_tui.services.search_text import fold, search_words

BATCH_FAMILIES = 250

# Birth years of the children (school year 2026-2027) with their class and weight.
CLASSES: list[tuple[int, str, str, int]] = [
    (2024, "TPS", "maternelle", 3), (2023, "PS", "maternelle", 10), (2022, "MS", "maternelle", 10),
    (2021, "GS", "maternelle", 10), (2020, "CP", "elementaire", 10), (2019, "CE1", "elementaire", 10),
    (2018, "CE2", "elementaire", 10), (2017, "CM1", "elementaire", 10), (2016, "CM2", "elementaire", 10),
    (2015, "6e", "college", 2), (2014, "5e", "college", 2), (2013, "4e", "college", 2),
    (2012, "3e", "college", 2), (2011, "2de", "lycee", 1),
]
COLLEGE = "Collège Anne de Bretagne"
LYCEE = "Lycée Camille Claudel"
EMAIL_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr", "hotmail.fr", "yahoo.fr",
                 "outlook.fr", "icloud.com"]
BANKS = [("30004", "BNPAFRPPXXX"), ("30003", "SOGEFRPPXXX"), ("30002", "CRLYFRPPXXX"),
         ("20041", "PSSTFRPPNTE"), ("10278", "CMCIFR2AXXX"), ("14445", "CEPAFRPPXXX"),
         ("13807", "CCBPFRPPNAN"), ("16006", "AGRIFRPP847")]
AUTHORIZED_RELATIONSHIPS = ["grand-mère", "grand-père", "tante", "oncle", "voisine", "amie de la famille",
                            "assistante maternelle", "parrain", "marraine"]
ALLERGIES = ["Allergie aux arachides", "Allergie au lait de vache", "Allergie aux fruits à coque",
             "Allergie au pollen de graminées", "Allergie aux piqûres de guêpe", "Allergie aux œufs"]
TREATMENTS = ["Asthme : Ventoline dans le sac, 2 bouffées en cas de gêne respiratoire",
              "Diabète de type 1 : contrôle de glycémie avant le repas",
              "Épilepsie : protocole d'urgence remis au directeur"]
PAIS = ["PAI alimentaire : allergie sévère à l'arachide, trousse d'urgence (stylo d'adrénaline) à l'école",
        "PAI asthme : traitement de crise dans la trousse d'urgence",
        "PAI alimentaire : allergie aux protéines de lait de vache, panier repas fourni par la famille"]
DISABILITIES = ["Notification MDPH : accompagnement par une AESH sur le temps scolaire",
                "Trouble du spectre de l'autisme : prévenir les parents en cas de changement d'animateur"]
OTHER_NOTES = ["Port de lunettes", "Appareil dentaire à retirer pendant le repas", "Sieste obligatoire"]
FAMILY_NOTES = ["Préfère être contactée par courriel.", "Garde alternée : une semaine sur deux chez le père.",
                "Famille suivie par le CCAS.", "Ne pas remettre l'enfant au père (jugement du 12/03/2025)."]
REFUSED_DOCUMENT = ["Document illisible, merci de le transmettre à nouveau.",
                    "Le document ne concerne pas l'année en cours.",
                    "Nom de l'enfant absent du document."]
MESSAGES = [
    ("Absence de {child}", "Bonjour, {child} sera absent(e) jusqu'à la fin de la semaine (certificat médical "
     "transmis par l'Espace famille). Pouvez-vous annuler ses réservations ? Merci."),
    ("Question sur la facture", "Bonjour, je ne comprends pas le montant de la dernière facture : {child} n'est "
     "pas allé(e) au périscolaire le soir pendant une semaine. Pouvez-vous vérifier ? Cordialement."),
    ("Inscription aux vacances", "Bonjour, je n'arrive pas à inscrire {child} aux vacances sur le portail : "
     "le groupe d'âge n'apparaît pas. Merci de votre aide."),
    ("Attestation pour les impôts", "Bonjour, pourriez-vous m'envoyer l'attestation de frais de garde de "
     "{child} pour ma déclaration de revenus ? Merci d'avance."),
    ("Changement d'horaires", "Bonjour, à partir du mois prochain je travaillerai le mercredi : {child} "
     "viendra à l'accueil du mercredi toute la journée. Est-ce possible ?"),
    ("Paiement en plusieurs fois", "Bonjour, pouvons-nous régler la facture en deux fois ? Nous traversons une "
     "période difficile. Merci de votre compréhension."),
]
REPLY = ("Bonjour, nous avons bien reçu votre message et l'avons transmis au service concerné. "
         "Nous revenons vers vous rapidement. Cordialement, le service enfance-jeunesse.")

# Weekly habits and their noise.
P_CANCEL = 0.03  # a habitual cell the family cancelled in time
P_EXTRA = 0.02  # an extra booking outside the habit
P_SPECIAL = 0.01  # a presence without booking, on a unit that has a surcharge
P_WEDNESDAY = 0.88
P_HOLIDAY_WEEK = 0.7
P_HOLIDAY_DAY = 0.9


@dataclass
class ChildDraft:
    id: int
    last_name: str
    first_name: str
    birth: date
    level: str | None  # maternelle, elementaire, college, lycee, or None (not at school)
    pai: bool = False
    enrolled: bool = False
    # billed cells: (month index, unit id) -> (days of month, days without booking)
    tally: dict[tuple[int, int], tuple[list[int], list[int]]] = field(default_factory=dict)


@dataclass
class Deferred:
    """Payments and credit notes, numbered once every family is known (in order of date)."""

    payments: list[tuple] = field(default_factory=list)
    credit_notes: list[tuple] = field(default_factory=list)


class FamilyGenerator:
    """Generates the households one by one, as batches of rows ready for a :class:`BulkWriter`."""

    def __init__(self, ref: Reference, formats: Formats, *, seed: int) -> None:
        self.ref = ref
        self.w = formats
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.today = ref.today
        self.now = datetime.combine(ref.today, time(7, 30), PARIS)
        self.ids: Counter[str] = Counter()
        self.rows: dict[str, list[tuple]] = {}
        self.cells: list[tuple] = []
        self.counts: Counter[str] = Counter()
        self.series: dict[str, int] = {}
        self.deferred = Deferred()
        self.emails: set[str] = set()
        self.capacity_used: Counter[tuple[int, int, Any]] = Counter()
        self.audit_budget = 0
        self.family_id = 0
        self.family_created = date.min
        self.streets = sorted({self.fake.street_name() for _ in range(80)})
        self.units = {u.id: u for a in ref.activities for u in a.units}
        self.unit_regie = {u.id: a.regie_index for a in ref.activities for u in a.units}
        self.school_activities = {
            school["code"]: [a for a in ref.activities if a.school_code == school["code"]] for school in ref.schools
        }
        self.wednesday = [a for a in ref.activities if a.kind == "wednesday"]
        self.holidays = [a for a in ref.activities if a.kind == "holidays"]
        self.weeks = {a.id: [d.toordinal() // 7 for d in a.first_days] for a in ref.activities}
        self.resident_brackets = [(i, b) for i, b in enumerate(ref.brackets) if b.get("resident", True)]
        self.outside_bracket = next(i for i, b in enumerate(ref.brackets) if not b.get("resident", True))
        self.diet_ids = {code: diet_id for diet_id, code, _ in ref.diets}
        self.diet_labels = {code: label for _, code, label in ref.diets}

    # ------------------------------------------------------------------ helpers

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add(self, table: str, row: tuple) -> None:
        self.rows.setdefault(table, []).append(row)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A Paris wall-clock instant, never after the seed's 'now' (today 07:30)."""
        return min(datetime.combine(day, time(hour, minute), PARIS), self.now - timedelta(minutes=30))

    def some_time(self, day: date) -> datetime:
        return self.at(day, self.randint(8, 21), self.randint(0, 59))

    def recent(self, max_days: int) -> datetime:
        """A moment in the last ``max_days`` days before today."""
        return self.some_time(self.today - timedelta(days=self.randint(1, max_days)))

    def between(self, start: date, end: date) -> date:
        if end <= start:
            return start
        return start + timedelta(days=self.randint(0, (end - start).days))

    def randint(self, low: int, high: int) -> int:
        """Like ``Random.randint``, a few times cheaper (the generator draws millions)."""
        return low + int(self.random() * (high - low + 1))

    def audit(self, at: datetime, agent_id: int | None, source: str, action: str, entity: str,
              entity_id: int | None, before: dict | None, after: dict | None, *, always: bool = False) -> None:
        """An audit entry on the family's history; decisions only within the family's small budget."""
        if not always:
            if self.audit_budget <= 0:
                return
            self.audit_budget -= 1
        self.add("audit_entry", (self.next_id("audit_entry"), self.w.instant(at), agent_id, source, action,
                                 entity, entity_id, self.family_id, self.w.json(before), self.w.json(after)))

    # ------------------------------------------------------------------ batches

    def batches(self, families: int) -> Iterator[Batch]:
        """The town's families, a batch at a time, then the payments and the number sequences."""
        for first in range(1, families + 1, BATCH_FAMILIES):
            for family_id in range(first, min(first + BATCH_FAMILIES, families + 1)):
                self.family(family_id)
            yield self.flush()
        yield self.deferred_rows()

    def flush(self) -> Batch:
        """The batch's rows in foreign-key order; the generator forgets them."""
        batch: Batch = []
        for table in ["family", "family_search_word", "guardian", "child", "authorized_person", "child_diet", "health_note", "consent",
                      "portal_account", "portal_login", "document", "family_quotient", "enrollment"]:
            batch.append((table, self.rows.pop(table, []), True))
        batch.append(("booking", self.cells, False))
        self.counts["bookings"] += len(self.cells)
        self.cells = []
        for table in ["invoice", "invoice_line", "mandate", "change_request", "message", "audit_entry"]:
            batch.append((table, self.rows.pop(table, []), True))
        if self.rows:
            raise AssertionError(f"rows never written: {sorted(self.rows)}")
        return batch

    def deferred_rows(self) -> Batch:
        """Receipts and credit notes numbered in order of date, and the number sequences."""
        regies = self.ref.regies
        payment_rows, allocation_rows = [], []
        for regie_index, received_on, family_id, mode, amount, reference, payer, created_at, parts in sorted(
            self.deferred.payments, key=lambda p: (p[0], p[1], p[2])
        ):
            payment_id = len(payment_rows) + 1
            number = self.take_number(f"{regies[regie_index]['invoice_prefix']}-R{received_on:%y%m}", "receipt")
            payment_rows.append((payment_id, number, family_id, regies[regie_index]["id"], mode, amount,
                                 self.w.day(received_on), reference, payer, self.ref.regisseur_id,
                                 self.w.instant(created_at)))
            for invoice_id, part in parts:
                allocation_rows.append((len(allocation_rows) + 1, payment_id, invoice_id, part))
        self.counts["payments"] = len(payment_rows)
        notes = []
        for regie_index, issued, invoice_id, amount, reason in sorted(self.deferred.credit_notes):
            number = self.take_number(f"{regies[regie_index]['invoice_prefix']}-A{issued:%y%m}", "credit_note")
            notes.append((len(notes) + 1, number, invoice_id, self.w.day(issued), amount, reason,
                          self.ref.regisseur_id, self.w.instant(self.at(issued, 10))))
        self.counts["credit_notes"] = len(notes)
        sequences = [(i, series, last) for i, (series, last) in enumerate(sorted(self.series.items()), start=1)]
        return [("payment", payment_rows, True), ("allocation", allocation_rows, True),
                ("credit_note", notes, True), ("number_sequence", sequences, True)]

    def take_number(self, prefix: str, kind: str) -> str:
        series = f"{kind}:{prefix}"
        self.series[series] = self.series.get(series, 0) + 1
        return f"{prefix}{self.series[series]:05d}"

    # ------------------------------------------------------------------ one family

    def family(self, family_id: int) -> None:
        rng, fake, ref = self.rng, self.fake, self.ref
        self.family_id = family_id
        self.audit_budget = 4
        self.counts["families"] += 1
        resident = rng.random() >= 0.08
        school = rng.choice(ref.schools)
        town = ref.settings["town"]
        if resident:
            address = f"{self.randint(1, 120)} {rng.choice(self.streets)}"
            postal_code, city = town["postal_code"], town["city"]
        else:
            neighbour = rng.choice(ref.settings["neighbour"])
            address, postal_code, city = fake.street_address(), neighbour["postal_code"], neighbour["city"]
        address_extra = f"Appartement {self.randint(1, 60)}" if rng.random() < 0.12 else ""
        created = self.at(self.between(date(2019, 1, 7), min(ref.year.start, self.today) - timedelta(days=2)), 10)
        self.family_created = created.date()
        source = "agent" if rng.random() < 0.7 else "portal"

        guardians = self.guardians(family_id)
        payer = next(g for g in guardians if g[5])
        other = next((g for g in guardians if not g[5]), None)
        father = next((g for g in guardians if g[4] == "père"), guardians[0])
        family_name = (f"{payer[2]}-{other[2]}" if other and other[2] != payer[2] else payer[2]).upper()
        self.audit(created, ref.accueil_id if source == "agent" else None, source, "create", "family", family_id,
                   None, {"name": family_name, "address": address, "city": city}, always=True)

        children = self.children(family_id, father[2], school if resident else None)
        self.authorized_persons(family_id, father[2])
        portal = self.portal(family_id, payer[9], created)
        for child in children:
            start = len(self.cells)
            self.enrollments(child, resident, school, portal)
            self.cells[start:] = sorted(self.cells[start:])  # by day then unit: the booking table's order

        debtor_name = f"{payer[3]} {payer[2].upper()}"
        debtor_address = "\n".join(x for x in (address, address_extra, f"{postal_code} {city}") if x)
        quotients = self.quotients(resident)
        invoices = self.invoices(family_id, children, quotients, resident, debtor_name, debtor_address)
        self.payments(family_id, invoices, debtor_name, debtor_address)
        self.documents(family_id, children, quotients)
        self.change_requests(family_id, guardians, children, address)
        self.messages(family_id, children, debtor_name)

        words = search_words(
            names=[family_name] + [n for g in guardians for n in (g[2], g[3])]
            + [n for c in children for n in (c.last_name, c.first_name)],
            phones=[p for g in guardians for p in (g[6], g[7], g[8])],
            emails=[g[9] for g in guardians],
            invoice_numbers=[number for _, number, _, _, _ in invoices],
        )
        notes = rng.choice(FAMILY_NOTES) if rng.random() < 0.04 else ""
        self.add("family", (family_id, family_name, fold(family_name), address, address_extra, postal_code, city,
                            resident, notes, self.w.instant(created), None, None, 1))
        for word in words:
            self.add("family_search_word", (word, family_id))

    def guardians(self, family_id: int) -> list[tuple]:
        rng, fake = self.rng, self.fake
        r = rng.random()
        if r < 0.62:  # a couple with one name
            last = fake.last_name()
            people = [(last, fake.first_name_female(), "mère"), (last, fake.first_name_male(), "père")]
        elif r < 0.8:  # a couple with two names
            people = [(fake.last_name(), fake.first_name_female(), "mère"),
                      (fake.last_name(), fake.first_name_male(), "père")]
        elif r < 0.97:
            people = [(fake.last_name(), fake.first_name_female(), "mère")]
        else:
            people = [(fake.last_name(), fake.first_name_male(), "père")]
        payer = 0 if len(people) == 1 or rng.random() < 0.65 else 1
        rows = []
        for i, (last, first, relationship) in enumerate(people):
            mobile = fake.numerify(f"0{rng.choice('67')} ## ## ## ##")
            home = fake.numerify("02 40 ## ## ##") if rng.random() < 0.25 else ""
            work = fake.numerify("02 ## ## ## ##") if rng.random() < 0.2 else ""
            employer = fake.company() if rng.random() < 0.7 else ""
            rows.append((self.next_id("guardian"), family_id, last, first, relationship, i == payer, mobile, home,
                         work, self.email(first, last), employer, 1))
        for row in rows:
            self.add("guardian", row)
        self.counts["guardians"] += len(rows)
        return rows

    def email(self, first: str, last: str) -> str:
        local = "".join(c for c in f"{unidecode(first)}.{unidecode(last)}".lower() if c.isalnum() or c in ".-")
        domain = self.rng.choice(EMAIL_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def children(self, family_id: int, last_name: str, school: dict | None) -> list[ChildDraft]:
        rng, fake = self.rng, self.fake
        count = 1 if (r := rng.random()) < 0.55 else 2 if r < 0.9 else 3
        children = []
        for year, school_class, level, _ in sorted(rng.sample(CLASSES, count, counts=[c[3] for c in CLASSES])):
            sex = rng.choice("FM")
            first = fake.first_name_female() if sex == "F" else fake.first_name_male()
            birth = date(year, 1, 1) + timedelta(days=self.randint(0, 364))
            child_level: str | None = level
            if school_class == "TPS" and (birth.month > 8 or rng.random() < 0.5):
                school_name, school_class, child_level = "", "", None
            elif level in ("maternelle", "elementaire"):
                school_name = school["name"] if school else f"École de {rng.choice(self.ref.settings['neighbour'])['city']}"
            else:
                school_name = COLLEGE if level == "college" else LYCEE
            child = ChildDraft(self.next_id("child"), last_name, first, birth, child_level)
            children.append(child)
            self.add("child", (child.id, family_id, last_name, first, self.w.day(birth), sex, school_name,
                               school_class, 1))
            self.health(child)
        self.counts["children"] += len(children)
        return children

    def health(self, child: ChildDraft) -> None:
        rng = self.rng
        r = rng.random()
        note = None
        if r < 0.08:
            note = ("allergy", rng.choice(ALLERGIES))
        elif r < 0.11:
            note = ("pai", rng.choice(PAIS))
        elif r < 0.13:
            note = ("treatment", rng.choice(TREATMENTS))
        elif r < 0.14:
            note = ("disability", rng.choice(DISABILITIES))
        elif r < 0.17:
            note = ("other", rng.choice(OTHER_NOTES))
        if note:
            kind, text = note
            child.pai = kind == "pai"
            self.add("health_note", (self.next_id("health_note"), child.id, kind, text, kind != "other",
                                     self.w.day(self.ref.year.end) if child.pai else None, 1))
        if child.pai and "panier" in note[1]:
            self.add("child_diet", (child.id, self.diet_ids["panier_repas"]))
        elif (r := rng.random()) < 0.12:
            code = "sans_porc" if r < 0.06 else "sans_viande" if r < 0.1 else "sans_gluten" if r < 0.11 else "sans_lactose"
            self.add("child_diet", (child.id, self.diet_ids[code]))

    def authorized_persons(self, family_id: int, last_name: str) -> None:
        rng, fake = self.rng, self.fake
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            relationship = rng.choice(AUTHORIZED_RELATIONSHIPS)
            same_name = relationship.startswith(("grand", "oncle", "tante")) and rng.random() < 0.6
            last = last_name if same_name else fake.last_name()
            male = relationship in ("grand-père", "oncle", "parrain")
            first = fake.first_name_male() if male else fake.first_name_female()
            may_collect = rng.random() < 0.9
            emergency = not may_collect or rng.random() < 0.6
            self.add("authorized_person", (self.next_id("authorized_person"), family_id, last, first, relationship,
                                           fake.numerify(f"0{rng.choice('67')} ## ## ## ##"), may_collect,
                                           emergency, 1))

    def portal(self, family_id: int, email: str, created: datetime) -> bool:
        """Consents, and the portal account with its sign-ins; True if the family uses the portal."""
        rng = self.rng
        consent_at = min(created + timedelta(days=self.randint(0, 20)), self.now - timedelta(hours=1))
        for kind, p in (("personal_data", 1.0), ("health_data", 0.92), ("image_rights", 0.75)):
            self.add("consent", (self.next_id("consent"), family_id, kind, rng.random() < p,
                                 self.w.instant(consent_at)))
        if rng.random() >= 0.88:
            return False
        account_id = self.next_id("portal_account")
        activated = consent_at if rng.random() < 0.95 else None
        self.add("portal_account", (account_id, family_id, email, self.w.instant(activated), rng.random() < 0.3))
        if activated:
            first = max(activated.date(), self.today - timedelta(days=150))
            for _ in range(self.randint(2, 12)):
                day = self.between(first, self.today - timedelta(days=1))
                self.add("portal_login", (self.next_id("portal_login"), account_id,
                                          self.w.instant(self.some_time(day)), rng.random() < 0.96))
        return activated is not None

    # ------------------------------------------------------------------ enrolments and bookings

    def enrollments(self, child: ChildDraft, resident: bool, school: dict, portal: bool) -> None:
        """Enrol the child where its school and age fit, and book the accepted enrolments."""
        rng = self.rng
        young = child.level in ("maternelle", "elementaire")
        wanted: list[tuple[ActivityInfo, float]] = []
        if resident and young:
            wanted += [(a, 0.92 if a.kind == "after_school" else 0.97) for a in self.school_activities[school["code"]]]
        wanted += [(a, 0.72 if young else 0.12) for a in self.wednesday]
        wanted += [(a, 0.7 if young else 0.2) for a in self.holidays]
        source = "portal" if portal and rng.random() < 0.7 else "agent"
        for activity, p in wanted:
            if rng.random() >= p:
                continue
            group = self.group(activity, child)
            if group is None:
                continue
            enrollment = self.enrollment(child, activity, group, source)
            if enrollment is not None:
                child.enrolled = True
                self.book(child, activity, group, *enrollment, source)

    @staticmethod
    def group(activity: ActivityInfo, child: ChildDraft) -> GroupInfo | None:
        """The age group of the child at the activity's start, preferring its school level's."""
        on = activity.start
        age = on.year - child.birth.year - ((on.month, on.day) < (child.birth.month, child.birth.day))
        fitting = [g for g in activity.groups if g.min_age <= age <= g.max_age]
        preferred = [g for g in fitting if g.level == child.level]
        return (preferred or fitting or [None])[0]

    def enrollment(self, child: ChildDraft, activity: ActivityInfo, group: GroupInfo,
                   source: str) -> tuple[int, datetime] | None:
        """Write the enrolment; (id, decision time) when accepted, so that it gets booked."""
        rng, ref = self.rng, self.ref
        enrollment_id = self.next_id("enrollment")
        self.counts["enrollments"] += 1
        r = rng.random()
        if activity.end < self.today:
            status = "accepted" if r < 0.97 else "refused"
        elif r < 0.02 or not self.counts["enrollment_requests"]:  # the bannette is never empty
            status = "requested"
        else:
            status = "waiting" if r < 0.03 else "refused" if r < 0.035 else "accepted"
        if status == "requested":
            self.add("enrollment", (enrollment_id, child.id, activity.id, group.id, status, "portal",
                                    self.w.instant(self.recent(12)), None, None, "", 1))
            self.counts["enrollment_requests"] += 1
            return None
        if activity.kind == "holidays":
            requested_day = activity.start - timedelta(days=self.randint(15, 45))
        else:
            requested_day = date(activity.start.year, rng.choice((6, 7, 8)), self.randint(1, 28))
        if requested_day >= self.today - timedelta(days=6):  # enrolled early for a later holiday
            requested_day = self.between(self.today - timedelta(days=70), self.today - timedelta(days=6))
        requested = self.some_time(max(requested_day, self.family_created + timedelta(days=1)))
        decided = min(requested + timedelta(days=self.randint(1, 5), hours=self.randint(0, 3)),
                      self.now - timedelta(minutes=20))
        agent = rng.choice((ref.accueil_id, ref.regisseur_id))
        reason = ""
        if status == "refused":
            reason = rng.choice(["Dossier incomplet : fiche sanitaire manquante.",
                                 "Capacité atteinte pour ce groupe d'âge.", "Inscription en double."])
        elif status == "waiting":
            reason = "Groupe complet : inscription en liste d'attente."
        self.add("enrollment", (enrollment_id, child.id, activity.id, group.id, status, source,
                                self.w.instant(requested), agent, self.w.instant(decided), reason, 1))
        self.audit(decided, agent, "agent", "decide", "enrollment", enrollment_id,
                   {"status": "requested"}, {"status": status, "activity": activity.name,
                                             "child": child.first_name})
        return (enrollment_id, decided) if status == "accepted" else None

    def book(self, child: ChildDraft, activity: ActivityInfo, group: GroupInfo, enrollment_id: int,
             decided: datetime, source: str) -> None:
        """Bookings of an accepted enrolment over the year: a weekly habit, noise, attendance before today."""
        rng = self.rng
        days = activity.days
        if activity.kind in ("after_school", "canteen") and len(days) > 40 and rng.random() < 0.06:
            days = days[self.randint(20, len(days) // 2):]  # started coming during the year
        if activity.start > self.today and activity.kind == "holidays" and (
            rng.random() < 0.15 or not self.counts["booking_requests"]
        ):
            if rng.random() < 0.1 and self.counts["booking_requests"]:  # a request the régie already turned down
                future = ("refused", "portal", self.ref.accueil_id, self.w.instant(self.recent(5)))
            else:  # a portal request waiting in the bannette
                future = ("requested", "portal", None, self.w.instant(self.recent(10)))
        else:
            future = ("reserved", source, None if source == "portal" else self.ref.accueil_id, self.w.instant(decided))
        if activity.kind in ("after_school", "canteen"):
            for unit in activity.units:
                self._habit_cells(child, enrollment_id, unit.id, unit.surcharge > 0, days, self.habit(unit.name),
                                  future)
        else:
            before = len(self.cells)
            self._day_cells(child, enrollment_id, activity, group, days, future)
            if future[0] == "requested":
                self.counts["booking_requests"] += len(self.cells) - before

    def habit(self, unit_name: str) -> list[bool]:
        """The ISO week days (as a lookup list 0..7) the child usually comes to this unit."""
        rng = self.rng
        if unit_name == "Repas":
            count = 4 if (r := rng.random()) < 0.88 else 3 if r < 0.95 else 2
        elif rng.random() < (0.75 if unit_name == "Acc matin" else 0.92):
            count = rng.choice((2, 3, 4, 4, 4))
        else:
            count = 0
        chosen = set(rng.sample((1, 2, 4, 5), count))
        return [d in chosen for d in range(8)]

    def _habit_cells(self, child: ChildDraft, enrollment_id: int, unit_id: int, surcharge: bool,
                     days: list[DayInfo], habit: list[bool], future: tuple) -> None:
        """One unit of a school-day activity: the habit, cancellations, extras, presences without booking."""
        random = self.rng.random
        out = self.cells.append
        tally = child.tally
        child_id = child.id
        accueil = self.ref.accueil_id
        f_state, f_source, f_by, f_at = future
        special_limit = P_EXTRA + P_SPECIAL if surcharge else 0.0
        for day, weekday, past, month, day_of_month, attendance_at in days:
            r = random()
            if habit[weekday]:
                if r < P_CANCEL:
                    continue
                booked = True
            elif r < P_EXTRA:
                booked = True
            elif past and r < special_limit:
                booked = False
            else:
                continue
            if not past:
                out((day, unit_id, child_id, enrollment_id, f_state, f_source, f_by, f_at, 1))
                continue
            if booked:
                r = random()
                state = "present" if r < 0.91 else "absent_justified" if r < 0.965 else "absent_unjustified"
            else:
                state = "present_special"
            out((day, unit_id, child_id, enrollment_id, state, "agent", accueil, attendance_at, 1))
            if month >= 0 and state != "absent_justified":
                entry = tally.get((month, unit_id))
                if entry is None:
                    entry = tally[(month, unit_id)] = ([], [])
                entry[0].append(day_of_month)
                if not booked:
                    entry[1].append(day_of_month)

    def _day_cells(self, child: ChildDraft, enrollment_id: int, activity: ActivityInfo, group: GroupInfo,
                   days: list[DayInfo], future: tuple) -> None:
        """Mercredis and holidays: the same units all day long, within the group's places."""
        rng = self.rng
        random = rng.random
        out = self.cells.append
        tally = child.tally
        child_id = child.id
        accueil = self.ref.accueil_id
        f_state, f_source, f_by, f_at = future
        units = [u.id for u in activity.units]
        weeks: list[int] | None = None
        chosen_weeks: set[int] = set()
        if activity.kind == "wednesday":  # Matin+Repas+Après-midi, Matin+Repas, Matin, Repas+Après-midi, Après-midi
            combo = rng.choices([units, units[:2], units[:1], units[1:], units[2:]], weights=(55, 20, 5, 10, 10))[0]
            p_day = P_WEDNESDAY
        else:
            combo, p_day = units, P_HOLIDAY_DAY
            weeks = self.weeks[activity.id]
            chosen_weeks = {w for w in sorted(set(weeks)) if random() < P_HOLIDAY_WEEK}
        used = self.capacity_used
        usual = activity.places[group.id]
        for i, (day, _, past, month, day_of_month, attendance_at) in enumerate(days):
            if (weeks is not None and weeks[i] not in chosen_weeks) or random() >= p_day:
                continue
            places = activity.day_places.get((group.id, day), usual)
            full = any(used[(group.id, u, day)] >= places for u in combo)
            if full and past:
                continue
            if not full and (past or f_state != "refused"):
                for u in combo:
                    used[(group.id, u, day)] += 1
            if not past:
                state = "waiting_list" if full and f_state == "reserved" else f_state
                for u in combo:
                    out((day, u, child_id, enrollment_id, state, f_source, f_by, f_at, 1))
                continue
            r = random()
            state = "present" if r < 0.92 else "absent_justified" if r < 0.97 else "absent_unjustified"
            for u in combo:
                out((day, u, child_id, enrollment_id, state, "agent", accueil, attendance_at, 1))
                if month >= 0 and state != "absent_justified":
                    entry = tally.get((month, u))
                    if entry is None:
                        entry = tally[(month, u)] = ([], [])
                    entry[0].append(day_of_month)

    # ------------------------------------------------------------------ billing

    def quotients(self, resident: bool) -> list[tuple[int, date, date, str]]:
        """The family's QF figures (value, from, to, source); some lapsed, so that the file shows an alert."""
        rng = self.rng
        if not resident or rng.random() < 0.1:
            return []
        value = int(min(3200, max(150, rng.gauss(980, 380))))
        source = "CAF" if (r := rng.random()) < 0.85 else "MSA" if r < 0.9 else "avis d'imposition"
        year = self.ref.year.start.year
        if rng.random() < 0.08:  # last year's figure, never renewed
            return [(value, date(year - 1, 1, 1), date(year - 1, 12, 31), source)]
        rows = [(value, date(year, 1, 1), date(year, 12, 31), source)]
        if self.today >= date(year + 1, 1, 10) and rng.random() < 0.8:
            rows.append((int(value * rng.uniform(0.9, 1.1)), date(year + 1, 1, 1), date(year + 1, 12, 31), source))
        return rows

    def bracket(self, quotients: list[tuple[int, date, date, str]], resident: bool, on: date) -> int:
        """Position of the rate bracket on ``on``: extérieur, the QF's bracket, or the highest without a QF."""
        if not resident:
            return self.outside_bracket
        value = next((q[0] for q in quotients if q[1] <= on <= q[2]), None)
        if value is None:
            return self.resident_brackets[-1][0]
        for position, b in self.resident_brackets:
            if b["min_qf"] <= value and (b.get("max_qf") is None or value <= b["max_qf"]):
                return position
        return self.resident_brackets[-1][0]

    def invoices(self, family_id: int, children: list[ChildDraft], quotients: list, resident: bool,
                 debtor_name: str, debtor_address: str) -> list[tuple[int, str, int, MonthInfo, int]]:
        """One invoice per régie and billed month, lines per child × unit; (id, number, régie, month, total)."""
        ref = self.ref
        grouped: dict[tuple[int, int], list[tuple[int, int, list[int], list[int]]]] = {}
        for child in children:
            for (month, unit_id), (days, specials) in sorted(child.tally.items()):
                grouped.setdefault((month, self.unit_regie[unit_id]), []).append((child.id, unit_id, days, specials))
        invoices = []
        for (month, regie_index), items in sorted(grouped.items()):
            info = ref.billed_months[month]
            bracket = self.bracket(quotients, resident, info.first)
            invoice_id = self.next_id("invoice")
            lines = []
            for child_id, unit_id, days, specials in items:
                unit = self.units[unit_id]
                price = unit.rates[bracket]
                lines.append((child_id, unit_id, "service", unit.label, days, price))
                if specials and unit.surcharge:
                    lines.append((child_id, unit_id, "unbooked_surcharge",
                                  f"Majoration sans réservation – {unit.label}", specials, unit.surcharge))
            total = 0
            for position, (child_id, unit_id, kind, label, days, price) in enumerate(lines, start=1):
                amount = len(days) * price
                total += amount
                self.add("invoice_line", (self.next_id("invoice_line"), invoice_id, position, child_id, unit_id,
                                          kind, label, ", ".join(map(str, days)), len(days), price, amount))
            regie = ref.regies[regie_index]
            number = self.take_number(f"{regie['invoice_prefix']}-F{info.yymm}", "invoice")
            self.add("invoice", (invoice_id, number, regie["id"], family_id, self.w.day(info.first),
                                 self.w.day(info.last), self.w.day(info.issue_date), self.w.day(info.due_date),
                                 total, "issued", debtor_name, debtor_address, ref.regisseur_id,
                                 self.w.instant(self.at(info.issue_date, 6))))
            invoices.append((invoice_id, number, regie_index, info, total))
        self.counts["invoices"] += len(invoices)
        return invoices

    def payments(self, family_id: int, invoices: list[tuple[int, str, int, MonthInfo, int]], payer: str,
                 payer_address: str) -> None:
        """Mandates, payments (most older invoices paid, some partly, some not) and a few credit notes."""
        rng, ref = self.rng, self.ref
        mandates: dict[int, list] = {}
        for regie_index, regie in enumerate(ref.regies):
            if rng.random() < (0.3 if regie_index == 0 else 0.12):
                signed = self.between(date(ref.year.start.year - 2, 3, 1), ref.year.start - timedelta(days=5))
                signed = min(max(signed, self.family_created + timedelta(days=1)), self.today - timedelta(days=1))
                mandates[regie_index] = [self.next_id("mandate"), f"{regie['invoice_prefix'].upper()}-{family_id:07d}-1",
                                         signed, None]
        unpaid: dict[int, list[list[int]]] = {}  # régie -> [[invoice id, balance]] of earlier invoices
        for invoice_id, number, regie_index, info, total in invoices:
            balance = total
            if total >= 1000 and rng.random() < 0.006:
                issued = info.issue_date + timedelta(days=self.randint(7, 25))
                if issued < self.today:
                    credit = self.randint(1, total // 200) * 100
                    self.deferred.credit_notes.append((regie_index, issued, invoice_id, credit, rng.choice([
                        "Absences justifiées par certificat médical non déduites.",
                        "Erreur de pointage : réservations annulées dans les délais.",
                    ])))
                    balance -= credit
            if regie_index in mandates:
                debit_day = info.issue_date + timedelta(days=15)  # pre-notified on the invoice
                if debit_day < self.today:
                    if rng.random() < 0.97:
                        mandate = mandates[regie_index]
                        mandate[3] = debit_day
                        self.pay(regie_index, debit_day, family_id, "direct_debit", f"Prélèvement SEPA {mandate[1]}",
                                 payer, [(invoice_id, balance)])
                    else:  # rejected debit: still due
                        unpaid.setdefault(regie_index, []).append([invoice_id, balance])
                    continue
            overdue = info.due_date < self.today
            r = rng.random()
            latest = self.today - timedelta(days=1)
            if r >= (0.88 if overdue else 0.48) or info.issue_date > latest:
                unpaid.setdefault(regie_index, []).append([invoice_id, balance])
                continue
            received = min(info.issue_date + timedelta(days=self.randint(2, 45)), latest)
            if r >= (0.82 if overdue else 0.45):  # partly paid at the desk
                part = max(100, balance // 200 * 100)
                if part < balance:
                    mode = "cash" if part <= CASH_LIMIT_CENTS and rng.random() < 0.5 else "cheque"
                    self.pay(regie_index, received, family_id, mode, self.reference(mode, number), payer,
                             [(invoice_id, part)])
                    unpaid.setdefault(regie_index, []).append([invoice_id, balance - part])
                    continue
            mode = rng.choices(["payfip", "card", "cheque", "cash", "transfer", "ancv"],
                               weights=(38, 12, 20, 10, 10, 10 if regie_index else 0))[0]
            parts = [(invoice_id, balance)]
            if mode in ("card", "cheque", "cash") and unpaid.get(regie_index) and rng.random() < 0.5:
                parts = [(i, b) for i, b in unpaid.pop(regie_index)] + parts  # settles earlier invoices too
            if mode == "cash" and sum(b for _, b in parts) > CASH_LIMIT_CENTS:
                mode = "cheque"
            self.pay(regie_index, received, family_id, mode, self.reference(mode, number), payer, parts)
        for regie_index, (mandate_id, rum, signed, last_used) in mandates.items():
            iban, bic = self.iban()
            self.add("mandate", (mandate_id, family_id, ref.regies[regie_index]["id"], rum, payer,
                                 payer_address.replace("\n", ", "), iban, bic, self.w.day(signed), True,
                                 "RCUR" if last_used else "FRST", self.w.day(last_used), None,
                                 self.w.instant(self.at(signed, 11))))

    def pay(self, regie_index: int, received: date, family_id: int, mode: str, reference: str, payer: str,
            parts: list[tuple[int, int]]) -> None:
        hour = 5 if mode == "direct_debit" else self.randint(8, 17)
        self.deferred.payments.append((regie_index, received, family_id, mode, sum(p for _, p in parts), reference,
                                       payer, self.at(received, hour, self.randint(0, 59)), parts))

    def reference(self, mode: str, invoice_number: str) -> str:
        if mode == "cheque":
            return f"Chèque n° {self.randint(1000000, 9999999)}"
        if mode == "payfip":
            return f"PayFiP {invoice_number} – autorisation {self.randint(100000, 999999)}"
        if mode == "card":
            return f"Carte bancaire – ticket {self.randint(1000, 9999)}"
        if mode == "transfer":
            return f"Virement {invoice_number}"
        if mode == "ancv":
            return f"{self.randint(2, 12)} chèques vacances ANCV"
        return ""

    def iban(self) -> tuple[str, str]:
        """A French IBAN with a correct RIB key and mod-97 check digits, and its bank's BIC."""
        rng = self.rng
        bank, bic = rng.choice(BANKS)
        branch = f"{self.randint(0, 99999):05d}"
        account = f"{self.randint(0, 99999999999):011d}"
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        bban = f"{bank}{branch}{account}{key:02d}"
        check = 98 - int(bban + "152700") % 97  # "FR00" moved to the end, F=15, R=27
        return f"FR{check:02d}{bban}", bic

    # ------------------------------------------------------------------ documents and bannette

    def documents(self, family_id: int, children: list[ChildDraft], quotients: list) -> None:
        """Documents sent by the family (most accepted, ~5% awaiting validation), and the QF they prove."""
        rng, ref = self.rng, self.ref
        year = ref.year
        for value, valid_from, valid_to, source in quotients:
            document_id = None
            if source == "CAF":
                status = "expired" if valid_to < self.today else "accepted"
                submitted = self.some_time(min(valid_from + timedelta(days=self.randint(3, 40)), self.today))
                document_id = self.document(family_id, None, "caf", f"attestation-caf-{valid_from.year}.pdf",
                                            status, submitted, valid_from, valid_to)
            self.add("family_quotient", (self.next_id("family_quotient"), family_id, value, source,
                                         self.w.day(valid_from), self.w.day(valid_to), document_id))
        if rng.random() < 0.25:
            sent = self.between(year.start - timedelta(days=90), year.start)
            self.document_sent(family_id, None, "employeur", "attestation-employeur.pdf", sent, sent,
                               sent.replace(year=sent.year + 1) - timedelta(days=1))
        if rng.random() < 0.85:
            self.document_sent(family_id, None, "assurance", "assurance-responsabilite-civile.pdf",
                               self.between(year.start - timedelta(days=60), year.start + timedelta(days=20)),
                               year.start, year.end)
        for child in children:
            if not child.enrolled:
                continue
            name = fold(child.first_name).replace(" ", "-")
            if rng.random() < 0.75:
                self.document_sent(family_id, child.id, "vaccins", f"vaccins-{name}.pdf",
                                   self.between(year.start - timedelta(days=80), year.start), None, None)
            if rng.random() < 0.85:
                previous = year.start.replace(year=year.start.year - 1)
                if self.family_created < previous and rng.random() < 0.15:
                    self.document(family_id, child.id, "fiche_sanitaire", f"fiche-sanitaire-{name}-{previous.year}.pdf",
                                  "expired", self.some_time(previous - timedelta(days=20)), previous,
                                  year.start - timedelta(days=1))
                self.document_sent(family_id, child.id, "fiche_sanitaire", f"fiche-sanitaire-{name}.pdf",
                                   self.between(year.start - timedelta(days=70), year.start + timedelta(days=10)),
                                   year.start, year.end)
            if child.pai:
                self.document_sent(family_id, child.id, "pai", f"pai-{name}.pdf",
                                   self.between(year.start, year.start + timedelta(days=40)), year.start, year.end)

    def document_sent(self, family_id: int, child_id: int | None, type_code: str, filename: str, sent: date,
                      valid_from: date | None, valid_to: date | None) -> None:
        """A document in its usual fate: accepted mostly, some refused, ~5% awaiting validation."""
        r = self.rng.random()
        if r < 0.055 or not self.counts["pending_documents"]:
            self.document(family_id, child_id, type_code, filename, "pending", self.recent(14), valid_from, valid_to)
        else:
            status = "refused" if r < 0.085 else "accepted"
            self.document(family_id, child_id, type_code, filename, status, self.some_time(sent), valid_from, valid_to)

    def document(self, family_id: int, child_id: int | None, type_code: str, filename: str, status: str,
                 submitted: datetime, valid_from: date | None, valid_to: date | None) -> int:
        rng, ref = self.rng, self.ref
        document_id = self.next_id("document")
        submitted = max(submitted, self.at(self.family_created + timedelta(days=1), 11))  # not before the file
        source = "portal" if status == "pending" or rng.random() < 0.7 else "agent"
        decided_by = decided_at = None
        reason = ""
        if status != "pending":
            decided_by = ref.accueil_id
            decided_at = min(submitted + timedelta(days=self.randint(1, 6)), self.now - timedelta(minutes=10))
            reason = rng.choice(REFUSED_DOCUMENT) if status == "refused" else ""
            self.audit(decided_at, decided_by, "agent", "decide", "document", document_id, {"status": "pending"},
                       {"status": "refused" if status == "refused" else "accepted", "file": filename})
        else:
            self.counts["pending_documents"] += 1
        self.add("document", (document_id, family_id, child_id, ref.document_types[type_code],
                              rng.choice(ref.document_files[type_code]), filename, status, source,
                              self.w.instant(submitted), self.w.day(valid_from), self.w.day(valid_to), decided_by,
                              self.w.instant(decided_at), reason, 1))
        return document_id

    def change_requests(self, family_id: int, guardians: list[tuple], children: list[ChildDraft],
                        address: str) -> None:
        """Portal edits: pending for ~5% of families, decided ones for a few more."""
        rng = self.rng
        r = rng.random()
        if r < 0.05 or not self.counts["pending_change_requests"]:
            statuses = ["pending"] * (2 if rng.random() < 0.2 else 1)
        elif r < 0.08:
            statuses = [rng.choice(["accepted", "accepted", "refused"])]
        else:
            return
        for status in statuses:
            guardian = rng.choice(guardians)
            child = rng.choice(children)
            kind = rng.randrange(6)
            if kind == 0:
                new_address = f"{self.randint(1, 120)} {rng.choice(self.streets)}"
                old, new = (address, new_address) if status != "accepted" else (new_address, address)
                request = ("family", family_id, "address", old, new)
            elif kind == 1:
                request = ("guardian", guardian[0], "mobile_phone", guardian[6],
                           self.fake.numerify(f"0{rng.choice('67')} ## ## ## ##"))
            elif kind == 2:
                request = ("guardian", guardian[0], "email", guardian[9], self.email(guardian[3], guardian[2] + "-pro"))
            elif kind == 3:
                request = ("guardian", guardian[0], "employer", guardian[10], self.fake.company())
            elif kind == 4:
                request = ("child", child.id, "diet", "", self.diet_labels[rng.choice(["sans_porc", "sans_viande"])])
            else:
                person = {"last_name": self.fake.last_name(), "first_name": self.fake.first_name_female(),
                          "relationship": rng.choice(AUTHORIZED_RELATIONSHIPS),
                          "phone": self.fake.numerify("06 ## ## ## ##"), "may_collect": True,
                          "emergency_contact": rng.random() < 0.5}
                request = ("authorized_person", None, "new", "", json.dumps(person, ensure_ascii=False))
            entity, entity_id, field_name, old, new = request
            request_id = self.next_id("change_request")
            if status == "pending":
                submitted = self.recent(20)
                self.counts["pending_change_requests"] += 1
                decided_by = decided_at = None
                reason = ""
            else:
                submitted = self.recent(80)
                decided_by = self.ref.accueil_id
                decided_at = min(submitted + timedelta(days=self.randint(1, 4)), self.now - timedelta(minutes=5))
                reason = "Justificatif manquant : merci de joindre un document." if status == "refused" else ""
                self.audit(decided_at, decided_by, "agent", "decide", "change_request", request_id,
                           {field_name: old}, {field_name: new, "status": status}, always=True)
            self.add("change_request", (request_id, family_id, entity, entity_id, field_name, old, new, status,
                                        self.w.instant(submitted), decided_by, self.w.instant(decided_at), reason, 1))

    def messages(self, family_id: int, children: list[ChildDraft], payer: str) -> None:
        """'Contacter la structure': unread messages for ~3% of families, answered ones for a few more."""
        rng = self.rng
        r = rng.random()
        if not self.counts["unread_messages"]:
            r = 0.0
        if r >= 0.09:
            return
        subject, body = rng.choice(MESSAGES)
        child = rng.choice(children).first_name
        message_id = self.next_id("message")
        recipient = rng.choice(["Service enfance-jeunesse", "Régie", "Accueil de loisirs Les Lucioles"])
        if r < 0.03:
            self.add("message", (message_id, family_id, "incoming", recipient, subject.format(child=child),
                                 body.format(child=child), self.w.instant(self.recent(7)), None, None, None))
            self.counts["unread_messages"] += 1
            return
        sent = self.recent(60)
        read = min(sent + timedelta(hours=self.randint(2, 48)), self.now - timedelta(minutes=15))
        self.add("message", (message_id, family_id, "incoming", recipient, subject.format(child=child),
                             body.format(child=child), self.w.instant(sent), self.w.instant(read),
                             self.ref.accueil_id, None))
        self.add("message", (self.next_id("message"), family_id, "outgoing", payer,
                             "Re : " + subject.format(child=child), REPLY,
                             self.w.instant(min(read + timedelta(minutes=20), self.now - timedelta(minutes=10))),
                             None, None, message_id))


def generate_into(queue: Any, reference: Reference, postgresql: bool, seed: int, families: int) -> None:
    """Child-process entry point: put ("batch", rows) items, then ("done", counts) or ("error", traceback)."""
    try:
        generator = FamilyGenerator(reference, Formats(postgresql), seed=seed)
        for batch in generator.batches(families):
            queue.put(("batch", batch))
        queue.put(("done", dict(generator.counts)))
    except BaseException:  # the parent decides; it must learn why
        queue.put(("error", traceback.format_exc()))
