"""The state and helpers every part of the family generator shares.

The generator is split by concern (households, bookings, billing, bannette), each part
a class over :class:`GeneratorBase`; :class:`regie_tui.demo.families.FamilyGenerator`
puts them together and writes one family at a time.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from faker import Faker
from unidecode import unidecode

from regie_tui.clock import PARIS
from regie_tui.demo.bulk import Formats, Row
from regie_tui.demo.reference import Reference
from regie_tui.services.numbering import NumberKind, format_number, number_prefix, series_name

EMAIL_DOMAINS = [
    "gmail.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "hotmail.fr",
    "yahoo.fr",
    "outlook.fr",
    "icloud.com",
]


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


# A QF figure of the family: (value, valid from, valid to, source).
Quotient = tuple[int, date, date, str]
# (régie index, received on, family id, mode, amount, reference, payer, created at, [(invoice id, part)])
PaymentDraft = tuple[int, date, int, str, int, str, str, datetime, list[tuple[int, int]]]
# (régie index, issued on, invoice id, amount, reason)
CreditNoteDraft = tuple[int, date, int, int, str]


@dataclass
class Deferred:
    """Payments and credit notes, numbered once every family is known (in order of date)."""

    payments: list[PaymentDraft] = field(default_factory=list)
    credit_notes: list[CreditNoteDraft] = field(default_factory=list)


class GeneratorBase:
    """Random draws, ids, rows waiting to be written, and the family being generated."""

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
        self.rows: dict[str, list[Row]] = {}
        self.cells: list[Row] = []  # booking rows
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
        self.diet_ids = {code: diet_id for diet_id, code, _ in ref.diets}
        self.diet_labels = {code: label for _, code, label in ref.diets}

    # ------------------------------------------------------------------ helpers

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)

    def email(self, first: str, last: str) -> str:
        """An address no one in the town has yet (guardians, and their portal edits)."""
        local = "".join(c for c in f"{unidecode(first)}.{unidecode(last)}".lower() if c.isalnum() or c in ".-")
        domain = self.rng.choice(EMAIL_DOMAINS)
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

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

    def audit(
        self,
        at: datetime,
        agent_id: int | None,
        source: str,
        action: str,
        entity: str,
        entity_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        *,
        always: bool = False,
    ) -> None:
        """An audit entry on the family's history; decisions only within the family's small budget."""
        if not always:
            if self.audit_budget <= 0:
                return
            self.audit_budget -= 1
        self.add(
            "audit_entry",
            (
                self.next_id("audit_entry"),
                self.w.instant(at),
                agent_id,
                source,
                action,
                entity,
                entity_id,
                self.family_id,
                self.w.json(before),
                self.w.json(after),
            ),
        )

    def take_number(self, kind: NumberKind, regie_prefix: str, month: date) -> str:
        """The next number of the series, as the régie's numbering gives it (counted here, in order)."""
        prefix = number_prefix(kind, regie_prefix, month)
        series = series_name(kind, prefix)
        self.series[series] = self.series.get(series, 0) + 1
        return format_number(prefix, self.series[series])
