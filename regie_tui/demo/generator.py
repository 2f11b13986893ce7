"""The state and helpers every part of the family generator shares.

The generator is split by concern (households, bookings, billing, bannette), each part
a class over :class:`GeneratorBase`; :class:`regie_tui.demo.families.FamilyGenerator`
puts them together and writes one family at a time.
"""

import base64
import json
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
from regie_tui.services.billing.numbering import NumberKind, format_number, number_prefix, series_name

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
    # (billed month, unit) -> (days billed, days present without booking, days of unjustified absence)
    tally: dict[tuple[int, int], tuple[list[int], list[int], list[int]]] = field(default_factory=dict)


# A portal line before it is numbered: (submitted at, order of generation, keys after "id").
PortalLine = tuple[datetime, int, dict[str, Any]]

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


def seed_now(today: date) -> datetime:
    """The seed's "now": today at 07:30 in Paris (everything generated happened before)."""
    return datetime.combine(today, time(7, 30), PARIS)


class GeneratorBase:
    """Random draws, ids, rows waiting to be written, and the family being generated."""

    def __init__(self, ref: Reference, formats: Formats, *, seed: int) -> None:
        self.ref = ref
        self.w = formats
        self.seed = seed
        self.rng = random.Random(seed)
        self.random = self.rng.random
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.today = ref.today
        self.now = seed_now(ref.today)
        self.ids: Counter[str] = Counter({"audit_entry": ref.audit_ids_taken})
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
        self.account: str | None = None  # the family's activated portal account: it may send portal lines
        self.family_lines = 0  # portal lines the family sent
        self.portal_lines: list[PortalLine] = []
        self.base64: dict[str, str] = {}  # sample file sha256 -> its content in base64
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

    def submit(self, kind: str, at: datetime, **keys: Any) -> None:
        """A line of the portal's file, sent by the family's account at ``at`` (numbered later)."""
        assert self.account is not None, "only a family with a portal account sends portal lines"
        line = {"kind": kind, "family": self.family_id, "account": self.account, "submitted_at": at.isoformat()}
        line.update(keys)
        self.portal_lines.append((at, len(self.portal_lines), line))
        self.counts[f"portal_{kind}"] += 1
        self.family_lines += 1

    def content_base64(self, sha256: str) -> str:
        encoded = self.base64.get(sha256)
        if encoded is None:
            encoded = self.base64[sha256] = base64.b64encode(self.ref.file_contents[sha256]).decode("ascii")
        return encoded

    def portal_file(self) -> bytes:
        """The portal's JSON Lines file: every line, in order of submission, with ids "p-<seed>-<n>"."""
        out = []
        for n, (_, _, line) in enumerate(sorted(self.portal_lines, key=lambda item: item[:2]), start=1):
            out.append(json.dumps({"id": f"p-{self.seed}-{n}", **line}, ensure_ascii=False) + "\n")
        return "".join(out).encode("utf-8")

    def take_number(self, kind: NumberKind, regie_prefix: str, month: date) -> str:
        """The next number of the series, as the régie's numbering gives it (counted here, in order)."""
        prefix = number_prefix(kind, regie_prefix, month)
        series = series_name(kind, prefix)
        self.series[series] = self.series.get(series, 0) + 1
        return format_number(prefix, self.series[series])
