"""The households of the demo town, generated one family at a time, in batches of rows.

Everything is drawn from one ``random.Random`` and one seeded Faker, in family order,
so the same seed and the same "today" give the same rows, ids included. Bookings are
streamed: a batch of families is generated, written, then forgotten; only the payments
wait for the end, to be numbered in the order they were received. The generator never
touches the database, so a large town can be generated in a second process
(:func:`generate_into`) while the first one writes.

What waits in the bannette is not written as rows: it is collected as the lines of the
portal's file (portal-submissions.md), which the seed imports through the production
code path (``services.portal.intake``). Decided history (accepted or refused documents,
answered messages, decided enrollments, attendance) is written directly.

Conventions a service reading these rows can rely on:
- invoices, receipts and credit notes are numbered as ``services.numbering`` says, and
  the seed leaves each series' last value in ``number_sequence``, where billing goes on.
"""

import traceback
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from regie_tui.demo.billing import CHEQUE_BANKS, Billing
from regie_tui.demo.bookings import Bookings
from regie_tui.demo.bulk import Batch, Formats, Row
from regie_tui.demo.generator import ChildDraft
from regie_tui.demo.households import Households
from regie_tui.demo.inbox import InboxItems
from regie_tui.demo.portal import Portal
from regie_tui.demo.reference import Reference
from regie_tui.services.billing.numbering import NumberKind
from regie_tui.services.families.search_words import fold, search_words

BATCH_FAMILIES = 250
FAMILY_NOTES = [
    "Préfère être contactée par courriel.",
    "Garde alternée : une semaine sur deux chez le père.",
    "Famille suivie par le CCAS.",
    "Ne pas remettre l'enfant au père (jugement du 12/03/2025).",
]


class FamilyGenerator(Households, Bookings, Billing, InboxItems, Portal):
    """Generates the households one by one, as batches of rows ready for a :class:`BulkWriter`."""

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
        for table in [
            "family",
            "family_search_word",
            "guardian",
            "child",
            "authorized_person",
            "child_diet",
            "health_note",
            "consent",
            "portal_account",
            "portal_login",
            "document",
            "family_quotient",
            "enrollment",
        ]:
            batch.append((table, self.rows.pop(table, []), True))
        batch.append(("booking", self.cells, False))
        self.counts["bookings"] += len(self.cells)
        self.cells = []
        for table in ["invoice", "invoice_line", "mandate", "message", "audit_entry"]:
            batch.append((table, self.rows.pop(table, []), True))
        if self.rows:
            raise AssertionError(f"rows never written: {sorted(self.rows)}")
        return batch

    def deferred_rows(self) -> Batch:
        """Receipts and credit notes numbered in order of date, and the number sequences."""
        regies = self.ref.regies
        payment_rows: list[Row] = []
        allocation_rows: list[Row] = []
        for regie_index, received_on, family_id, mode, amount, reference, payer, created_at, parts in sorted(
            self.deferred.payments, key=lambda p: (p[0], p[1], p[2])
        ):
            payment_id = len(payment_rows) + 1
            number = self.take_number(NumberKind.RECEIPT, regies[regie_index]["invoice_prefix"], received_on)
            payment_rows.append(
                (
                    payment_id,
                    number,
                    family_id,
                    regies[regie_index]["id"],
                    mode,
                    amount,
                    self.w.day(received_on),
                    reference,
                    payer,
                    self.ref.regisseur_id,
                    self.w.instant(created_at),
                    self.rng.choice(CHEQUE_BANKS) if mode == "cheque" else "",
                )
            )
            for invoice_id, part in parts:
                allocation_rows.append((len(allocation_rows) + 1, payment_id, invoice_id, part))
        self.counts["payments"] = len(payment_rows)
        notes: list[Row] = []
        for regie_index, issued, invoice_id, amount, reason in sorted(self.deferred.credit_notes):
            number = self.take_number(NumberKind.CREDIT_NOTE, regies[regie_index]["invoice_prefix"], issued)
            notes.append(
                (
                    len(notes) + 1,
                    number,
                    invoice_id,
                    self.w.day(issued),
                    amount,
                    reason,
                    self.ref.regisseur_id,
                    self.w.instant(self.at(issued, 10)),
                )
            )
        self.counts["credit_notes"] = len(notes)
        sequences = [(i, series, last) for i, (series, last) in enumerate(sorted(self.series.items()), start=1)]
        return [
            ("payment", payment_rows, True),
            ("allocation", allocation_rows, True),
            ("credit_note", notes, True),
            ("number_sequence", sequences, True),
        ]

    def family(self, family_id: int) -> None:
        rng, ref = self.rng, self.ref
        self.family_id = family_id
        self.audit_budget = 4
        self.family_lines = 0
        self.counts["families"] += 1
        resident = rng.random() >= 0.08
        school = rng.choice(ref.schools)
        address, address_extra, postal_code, city = self.address(resident)
        created = self.at(self.between(date(2019, 1, 7), min(ref.year.start, self.today) - timedelta(days=2)), 10)
        self.family_created = created.date()
        source = "agent" if rng.random() < 0.7 else "portal"

        guardians = self.guardians(family_id)
        payer = next(g for g in guardians if g[5])
        other = next((g for g in guardians if not g[5]), None)
        father = next((g for g in guardians if g[4] == "père"), guardians[0])
        family_name = (f"{payer[2]}-{other[2]}" if other and other[2] != payer[2] else payer[2]).upper()
        self.audit(
            created,
            ref.accueil_id if source == "agent" else None,
            source,
            "create",
            "family",
            family_id,
            None,
            {"name": family_name, "address": address, "city": city},
            always=True,
        )

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
        open_invoices = self.payments(family_id, invoices, debtor_name, debtor_address)
        self.documents(family_id, children, quotients)
        self.messages(family_id, children, debtor_name)
        self.file_changes(guardians, children, (address, postal_code, city))
        self.new_child(father[2])
        self.online_payments(open_invoices)
        self.logins()

        row = (family_id, family_name, address, address_extra, postal_code, city, resident, created)
        self.write_family(row, guardians, children, [number for _, number, _, _, _ in invoices])

    def address(self, resident: bool) -> tuple[str, str, str, str]:
        """(address, its complement, postal code, city): in the town for a resident, else a neighbour town."""
        rng = self.rng
        if resident:
            town = self.ref.settings["town"]
            address = f"{self.randint(1, 120)} {rng.choice(self.streets)}"
            postal_code, city = town["postal_code"], town["city"]
        else:
            neighbour = rng.choice(self.ref.settings["neighbour"])
            address, postal_code, city = self.fake.street_address(), neighbour["postal_code"], neighbour["city"]
        address_extra = f"Appartement {self.randint(1, 60)}" if rng.random() < 0.12 else ""
        return address, address_extra, postal_code, city

    def write_family(
        self,
        row: tuple[int, str, str, str, str, str, bool, datetime],
        guardians: list[Any],
        children: list[ChildDraft],
        invoice_numbers: list[str],
    ) -> None:
        """The family's row (notes now and then) and its search words."""
        family_id, family_name, address, address_extra, postal_code, city, resident, created = row
        words = search_words(
            names=[family_name]
            + [n for g in guardians for n in (g[2], g[3])]
            + [n for c in children for n in (c.last_name, c.first_name)],
            phones=[p for g in guardians for p in (g[6], g[7], g[8])],
            emails=[g[9] for g in guardians],
            invoice_numbers=invoice_numbers,
        )
        notes = self.rng.choice(FAMILY_NOTES) if self.rng.random() < 0.04 else ""
        self.add(
            "family",
            (
                family_id,
                family_name,
                fold(family_name),
                address,
                address_extra,
                postal_code,
                city,
                resident,
                notes,
                self.w.instant(created),
                None,
                None,
                1,
            ),
        )
        for word in words:
            self.add("family_search_word", (word, family_id))


def generate_into(queue: Any, reference: Reference, postgresql: bool, seed: int, families: int) -> None:
    """Child-process entry point: put ("batch", rows) items, then ("done", (counts, portal file))
    or ("error", traceback)."""
    try:
        generator = FamilyGenerator(reference, Formats(postgresql), seed=seed)
        for batch in generator.batches(families):
            queue.put(("batch", batch))
        queue.put(("done", (dict(generator.counts), generator.portal_file())))
    except BaseException:  # the parent decides; it must learn why
        queue.put(("error", traceback.format_exc()))
