"""What families send from the portal about their file, their invoices and themselves.

Portal lines (portal-submissions.md) of a family with an activated account: changes of
the family file, a new child, online payments, logins. Enrollment and booking requests,
documents and messages are sent from ``bookings`` and ``inbox``, where the rest of
their story is generated. ``GeneratorBase.submit`` collects them; the seed writes the
file and imports it as the portal's cron would.
"""

from datetime import date, timedelta
from typing import Any

from regie_tui.demo.bulk import Row
from regie_tui.demo.generator import ChildDraft, GeneratorBase
from regie_tui.demo.households import ALLERGIES, AUTHORIZED_RELATIONSHIPS, OTHER_NOTES

P_CHANGE = 0.045  # families changing something of their file
P_NEW_CHILD = 0.006
P_PAYMENT = 0.06  # of the families with an open invoice: paid online, awaiting allocation
P_PAYMENT_REFUSED = 0.008  # of the families with an open invoice: a card refused by PayFiP
P_IDLE_LOGIN = 0.02  # families signing in without sending anything
NEW_CHILD_CLASSES = [(2025, ""), (2024, "TPS"), (2022, "MS"), (2019, "CE1"), (2017, "CM1")]


class Portal(GeneratorBase):
    """The family file's changes, new children, online payments and logins, as portal lines."""

    def file_changes(self, guardians: list[Row], children: list[ChildDraft], home: tuple[str, str, str]) -> None:
        """One change of the family file (a move is three lines: address, postal code, city)."""
        if self.account is None:
            return
        rng, fake = self.rng, self.fake
        if rng.random() >= P_CHANGE and self.counts["portal_change"]:
            return
        at = self.recent(20)
        guardian = rng.choice(guardians)
        kind = rng.randrange(6)
        if kind == 0:
            neighbour = rng.choice(self.ref.settings["neighbour"])
            moved = (fake.street_address(), neighbour["postal_code"], neighbour["city"])
            for field, old, new in zip(("address", "postal_code", "city"), home, moved, strict=True):
                if old != new:
                    self.change(at, "family", self.family_id, field, old, new)
        elif kind == 1:
            new_phone = fake.numerify(f"0{rng.choice('67')} ## ## ## ##")
            self.change(at, "guardian", guardian[0], "mobile_phone", guardian[6], new_phone)
        elif kind == 2:
            self.change(at, "guardian", guardian[0], "email", guardian[9], self.email(guardian[3], guardian[2]))
        elif kind == 3:
            self.change(at, "guardian", guardian[0], "employer", guardian[10], fake.company())
        elif kind == 4:
            male = rng.random() < 0.4
            person = {
                "last_name": fake.last_name(),
                "first_name": fake.first_name_male() if male else fake.first_name_female(),
                "relationship": rng.choice(AUTHORIZED_RELATIONSHIPS),
                "phone": fake.numerify(f"0{rng.choice('67')} ## ## ## ##"),
                "may_collect": True,
                "emergency_contact": rng.random() < 0.5,
            }
            self.change(at, "authorized_person", None, "new", None, person)
        else:
            child = rng.choice(children)
            allergy = rng.random() < 0.7
            note_kind, text = ("allergy", rng.choice(ALLERGIES)) if allergy else ("other", rng.choice(OTHER_NOTES))
            self.change(at, "health_note", None, "new", None, {"child": child.id, "kind": note_kind, "text": text})

    def change(self, at: Any, entity: str, entity_id: int | None, field: str, old: Any, new: Any) -> None:
        self.submit("change", at, entity=entity, entity_id=entity_id, field=field, old=old, new=new)

    def new_child(self, last_name: str) -> None:
        """A child the family declares: a newborn, a toddler starting school, a child coming to live here."""
        if self.account is None:
            return
        rng, fake = self.rng, self.fake
        if rng.random() >= P_NEW_CHILD and self.counts["portal_new_child"]:
            return
        year, school_class = rng.choice(NEW_CHILD_CLASSES)
        birth = min(date(year, 1, 1) + timedelta(days=self.randint(0, 364)), self.today - timedelta(days=60))
        sex = rng.choice("FM")
        keys: dict[str, Any] = {
            "first_name": fake.first_name_female() if sex == "F" else fake.first_name_male(),
            "last_name": last_name,
            "birth_date": birth.isoformat(),
            "sex": sex,
        }
        if school_class:
            keys["school"] = rng.choice(self.ref.schools)["name"]
            keys["school_class"] = school_class
        self.submit("new_child", self.recent(15), **keys)

    def online_payments(self, open_invoices: list[tuple[str, int]]) -> None:
        """An open invoice paid in full on PayFiP (waiting for its allocation), or a refused card."""
        if self.account is None or not open_invoices:
            return
        rng = self.rng
        r = rng.random()
        if not self.counts["portal_payment"]:
            r = 0.0
        elif not self.counts["refused_payments"]:
            r = P_PAYMENT
        if r >= P_PAYMENT + P_PAYMENT_REFUSED:
            return
        number, balance = rng.choice(open_invoices)
        result = "success" if r < P_PAYMENT else "refused"
        paid = self.recent(6)
        self.submit(
            "payment",
            paid + timedelta(minutes=self.randint(1, 15)),
            invoice=number,
            amount_cents=balance,
            paid_at=paid.isoformat(),
            reference=f"{self.randint(100_000_000, 999_999_999)}{paid:%y%m%d}",
            result=result,
        )
        if result == "refused":
            self.counts["refused_payments"] += 1

    def logins(self) -> None:
        """Recent sign-ins on the portal: those of the families that sent something, and a few more."""
        if self.account is None:
            return
        count = self.randint(1, 2) if self.family_lines else 1 if self.rng.random() < P_IDLE_LOGIN else 0
        for _ in range(count):
            self.submit("login", self.recent(7))
