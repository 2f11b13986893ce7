"""The family's money: quotients familiaux, invoices of the months billed, payments, mandates."""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from regie_tui.demo.generator import ChildDraft, GeneratorBase, Quotient
from regie_tui.demo.reference import MonthInfo
from regie_tui.models import CASH_LIMIT_CENTS, ChargeKind
from regie_tui.services.billing.numbering import NumberKind
from regie_tui.services.billing.pricing import Bracket, bracket_for, line_amount_cents, quotient_on
from regie_tui.services.billing.run_invoices import basis_text, days_text, line_label
from regie_tui.services.billing.run_items import week_of
from regie_tui.services.billing.run_tables import BILLED_STATES
from regie_tui.services.payments.sepa.mandates import new_rum, next_sequence

BANKS = [
    ("30004", "BNPAFRPPXXX"),
    ("30003", "SOGEFRPPXXX"),
    ("30002", "CRLYFRPPXXX"),
    ("20041", "PSSTFRPPNTE"),
    ("10278", "CMCIFR2AXXX"),
    ("14445", "CEPAFRPPXXX"),
    ("13807", "CCBPFRPPNAN"),
    ("16006", "AGRIFRPP847"),
]

#: An invoice line as drafted: (child id, unit id, kind, label, days of the month, quantity, unit price).
_Line = tuple[int, int, str, str, list[int], int, int]

CHEQUE_BANKS = (
    "BNP Paribas",
    "Société générale",
    "LCL",
    "La Banque postale",
    "Crédit mutuel",
    "Caisse d'épargne",
    "Banque populaire",
    "Crédit agricole",
)


class Billing(GeneratorBase):
    """What the family was billed and paid."""

    def quotients(self, resident: bool) -> list[Quotient]:
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

    def rate_index(self, quotients: list[Quotient], resident: bool, on: date) -> int:
        """Index in ``UnitInfo.rates`` of the family's bracket on ``on`` (the pricing service's rule)."""
        quotient = quotient_on(((value, start, end) for value, start, end, _ in quotients), on)
        bracket = bracket_for(self.ref.brackets, resident=resident, quotient=quotient)
        return self.ref.brackets.index(bracket)

    def invoices(
        self,
        family_id: int,
        children: list[ChildDraft],
        quotients: list[Quotient],
        resident: bool,
        debtor_name: str,
        debtor_address: str,
    ) -> list[tuple[int, str, int, MonthInfo, int]]:
        """One invoice per régie and billed month, lines per child × unit; (id, number, régie, month, total)."""
        ref = self.ref
        grouped: dict[tuple[int, int], list[tuple[int, int, list[int], list[int], list[int]]]] = {}
        for child in children:
            for (month, unit_id), (days, specials, unjustified) in sorted(child.tally.items()):
                grouped.setdefault((month, self.unit_regie[unit_id]), []).append(
                    (child.id, unit_id, days, specials, unjustified)
                )
        invoices = []
        for (month, regie_index), items in sorted(grouped.items()):
            info = ref.billed_months[month]
            rate_index = self.rate_index(quotients, resident, info.first)
            bracket = ref.brackets[rate_index]
            quotient = quotient_on(((value, start, end) for value, start, end, _ in quotients), info.first)
            invoice_id = self.next_id("invoice")
            lines = [
                line
                for child_id, unit_id, days, specials, unjustified in items
                for line in self._lines(child_id, unit_id, info, rate_index, days, specials, unjustified)
            ]
            total = self._write_lines(invoice_id, lines, rate_index, bracket, basis_text(bracket, quotient))
            regie = ref.regies[regie_index]
            number = self.take_number(NumberKind.INVOICE, regie["invoice_prefix"], info.first)
            self.add(
                "invoice",
                (
                    invoice_id,
                    number,
                    regie["id"],
                    family_id,
                    self.w.day(info.first),
                    self.w.day(info.last),
                    self.w.day(info.issue_date),
                    self.w.day(info.due_date),
                    total,
                    "issued",
                    debtor_name,
                    debtor_address,
                    ref.regisseur_id,
                    self.w.instant(self.at(info.issue_date, 6)),
                ),
            )
            invoices.append((invoice_id, number, regie_index, info, total))
        self.counts["invoices"] += len(invoices)
        return invoices

    def _lines(
        self,
        child_id: int,
        unit_id: int,
        info: MonthInfo,
        rate_index: int,
        days: list[int],
        specials: list[int],
        unjustified: list[int],
    ) -> list[_Line]:
        """A child's lines for one unit over a month: its service line (or weekly packages), then the
        surcharge of the days it came unbooked and the penalty of its unjustified absences."""
        unit = self.units[unit_id]
        drafts = []  # (kind, days, quantity, unit price)
        if unit.packages:  # one package per week booked
            weeks = len({week_of(info.first.replace(day=d)) for d in days})
            drafts.append((ChargeKind.PACKAGE, days, weeks, unit.packages[rate_index]))
        else:
            drafts.append((ChargeKind.SERVICE, days, len(days), unit.rates[rate_index]))
        if specials and unit.surcharge:
            drafts.append((ChargeKind.UNBOOKED_SURCHARGE, specials, len(specials), unit.surcharge))
        if unjustified and unit.penalty:
            drafts.append((ChargeKind.ABSENCE_PENALTY, unjustified, len(unjustified), unit.penalty))
        return [
            (
                child_id,
                unit_id,
                charge_kind.value,
                line_label(charge_kind, unit.activity, unit.name, unit.package),
                billed,
                quantity,
                price,
            )
            for charge_kind, billed, quantity, price in drafts
        ]

    def _write_lines(self, invoice_id: int, lines: list[_Line], rate_index: int, bracket: Bracket, basis: str) -> int:
        """The invoice's lines, numbered in order; the invoice's total."""
        total = 0
        for position, (child_id, unit_id, kind, label, days, quantity, price) in enumerate(lines, start=1):
            rate_id = self.units[unit_id].rate_ids[rate_index]
            amount = line_amount_cents(quantity, price)
            total += amount
            self.add(
                "invoice_line",
                (
                    self.next_id("invoice_line"),
                    invoice_id,
                    position,
                    child_id,
                    unit_id,
                    kind,
                    label,
                    days_text(days),
                    quantity,
                    price,
                    amount,
                    rate_id,
                    bracket.id,
                    basis,
                ),
            )
        return total

    def payments(
        self, family_id: int, invoices: list[tuple[int, str, int, MonthInfo, int]], payer: str, payer_address: str
    ) -> list[tuple[str, int]]:
        """Mandates, payments (most older invoices paid, some partly, some not) and a few credit notes.

        Returns the invoices still open: (number, balance due), in order of issue.
        """
        mandates = self._mandates(family_id)
        unpaid: dict[int, list[list[int]]] = {}  # régie -> [[invoice id, balance]] of earlier invoices
        for invoice_id, number, regie_index, info, total in invoices:
            balance = self._credit_note(invoice_id, regie_index, info, total)
            if regie_index in mandates and mandates[regie_index][2] < info.issue_date:
                debit_day = info.issue_date + timedelta(days=15)  # pre-notified on the invoice
                if debit_day < self.today:
                    if self.rng.random() < 0.97:
                        mandate = mandates[regie_index]
                        mandate[3] = debit_day
                        self.pay(
                            regie_index,
                            debit_day,
                            family_id,
                            "direct_debit",
                            f"Prélèvement SEPA {mandate[1]}",
                            payer,
                            [(invoice_id, balance)],
                        )
                    else:  # rejected debit: still due
                        unpaid.setdefault(regie_index, []).append([invoice_id, balance])
                    continue
            self._desk_payment(family_id, invoice_id, number, regie_index, info, balance, payer, unpaid)
        self._write_mandates(family_id, mandates, payer, payer_address)
        numbers = {invoice_id: number for invoice_id, number, _, _, _ in invoices}
        return [(numbers[i], balance) for i, balance in sorted(i for due in unpaid.values() for i in due)]

    def _mandates(self, family_id: int) -> dict[int, list[Any]]:
        """The family's SEPA mandates: régie -> [mandate id, RUM, signed on, last used on (None yet)]."""
        rng, ref = self.rng, self.ref
        mandates: dict[int, list[Any]] = {}
        for regie_index, regie in enumerate(ref.regies):
            if rng.random() < (0.3 if regie_index == 0 else 0.12):
                signed = self.between(date(ref.year.start.year - 2, 3, 1), ref.year.start - timedelta(days=5))
                if rng.random() < 0.06 or not self.counts["fresh_mandates"]:  # signed lately, never used yet
                    signed = self.today - timedelta(days=self.randint(1, 15))
                    self.counts["fresh_mandates"] += 1
                signed = min(max(signed, self.family_created + timedelta(days=1)), self.today - timedelta(days=1))
                mandates[regie_index] = [
                    self.next_id("mandate"),
                    new_rum(regie["invoice_prefix"], family_id),
                    signed,
                    None,
                ]
        return mandates

    def _credit_note(self, invoice_id: int, regie_index: int, info: MonthInfo, total: int) -> int:
        """Now and then a credit note on the invoice (issued later on); the balance left to pay."""
        rng = self.rng
        balance = total
        if total >= 1000 and rng.random() < 0.006:
            issued = info.issue_date + timedelta(days=self.randint(7, 25))
            if issued < self.today:
                credit = self.randint(1, total // 200) * 100
                self.deferred.credit_notes.append(
                    (
                        regie_index,
                        issued,
                        invoice_id,
                        credit,
                        rng.choice(
                            [
                                "Absences justifiées par certificat médical non déduites.",
                                "Erreur de pointage : réservations annulées dans les délais.",
                            ]
                        ),
                    )
                )
                balance -= credit
        return balance

    def _desk_payment(
        self,
        family_id: int,
        invoice_id: int,
        number: str,
        regie_index: int,
        info: MonthInfo,
        balance: int,
        payer: str,
        unpaid: dict[int, list[list[int]]],
    ) -> None:
        """The invoice paid online or at the desk (overdue ones more often), partly, or not yet (``unpaid``)."""
        rng = self.rng
        overdue = info.due_date < self.today
        r = rng.random()
        latest = self.today - timedelta(days=1)
        if r >= (0.88 if overdue else 0.48) or info.issue_date > latest:
            unpaid.setdefault(regie_index, []).append([invoice_id, balance])
            return
        received = min(info.issue_date + timedelta(days=self.randint(2, 45)), latest)
        if r >= (0.82 if overdue else 0.45):  # partly paid at the desk
            part = max(100, balance // 200 * 100)
            if part < balance:
                mode = "cash" if part <= CASH_LIMIT_CENTS and rng.random() < 0.5 else "cheque"
                self.pay(
                    regie_index, received, family_id, mode, self.reference(mode, number), payer, [(invoice_id, part)]
                )
                unpaid.setdefault(regie_index, []).append([invoice_id, balance - part])
                return
        mode = rng.choices(
            ["payfip", "card", "cheque", "cash", "transfer", "ancv"],
            weights=(38, 12, 20, 10, 10, 10 if regie_index else 0),
        )[0]
        parts = [(invoice_id, balance)]
        if mode in ("card", "cheque", "cash") and unpaid.get(regie_index) and rng.random() < 0.5:
            parts = [(i, b) for i, b in unpaid.pop(regie_index)] + parts  # settles earlier invoices too
        if mode == "cash" and sum(b for _, b in parts) > CASH_LIMIT_CENTS:
            mode = "cheque"
        self.pay(regie_index, received, family_id, mode, self.reference(mode, number), payer, parts)

    def _write_mandates(self, family_id: int, mandates: dict[int, list[Any]], payer: str, payer_address: str) -> None:
        for regie_index, (mandate_id, rum, signed, last_used) in mandates.items():
            iban, bic = self.iban()
            self.add(
                "mandate",
                (
                    mandate_id,
                    family_id,
                    self.ref.regies[regie_index]["id"],
                    rum,
                    payer,
                    payer_address.replace("\n", ", "),
                    iban,
                    bic,
                    self.w.day(signed),
                    True,
                    next_sequence(recurrent=True, last_used_on=last_used).value,
                    self.w.day(last_used),
                    None,
                    self.w.instant(self.at(signed, 11)),
                ),
            )

    def pay(
        self,
        regie_index: int,
        received: date,
        family_id: int,
        mode: str,
        reference: str,
        payer: str,
        parts: list[tuple[int, int]],
    ) -> None:
        hour = 5 if mode == "direct_debit" else self.randint(8, 17)
        self.deferred.payments.append(
            (
                regie_index,
                received,
                family_id,
                mode,
                sum(p for _, p in parts),
                reference,
                payer,
                self.at(received, hour, self.randint(0, 59)),
                parts,
            )
        )

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


def charge_seeded_invoices(conn: Connection) -> None:
    """The charges of the seed's invoices: each billed booking points to its line, as after a run.

    So the grid shows those cells "Facturé" and the invoicing run finds nothing left to
    bill in the months the seed billed. A package line's charge carries its price on the
    week's first day, as the run does.
    """
    postgresql = conn.dialect.name == "postgresql"
    week = "date_trunc('week', b.day)" if postgresql else "date(b.day, '-6 days', 'weekday 1')"
    billed = ", ".join(f"'{state.value}'" for state in BILLED_STATES)
    columns = (
        "INSERT INTO charge (family_id, child_id, booking_id, regie_id, kind, day, label, quantity, "
        "unit_price_cents, amount_cents, invoice_line_id, unit_id, rate_id, bracket_id)"
    )
    # "+b.unit_id": SQLite then seeks each line's bookings by child and day (not all the unit's month).
    joined = """FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id
JOIN booking b ON b.child_id = l.child_id AND +b.unit_id = l.unit_id
    AND b.day BETWEEN i.period_start AND i.period_end"""
    conn.execute(
        text(
            f"""{columns}
SELECT i.family_id, b.child_id, b.id, i.regie_id, l.kind, b.day, l.label, 1, l.unit_price_cents, l.unit_price_cents,
    l.id, l.unit_id, l.rate_id, l.bracket_id
{joined}
WHERE (l.kind = 'service' AND b.state IN ({billed}))
    OR (l.kind = 'unbooked_surcharge' AND b.state = 'present_special')
    OR (l.kind = 'absence_penalty' AND b.state = 'absent_unjustified')"""
        )
    )
    first_of_week = f"row_number() OVER (PARTITION BY l.id, {week} ORDER BY b.day) = 1"
    conn.execute(
        text(
            f"""{columns}
SELECT i.family_id, b.child_id, b.id, i.regie_id, l.kind, b.day, l.label, 1,
    CASE WHEN {first_of_week} THEN l.unit_price_cents ELSE 0 END,
    CASE WHEN {first_of_week} THEN l.unit_price_cents ELSE 0 END,
    l.id, l.unit_id, l.rate_id, l.bracket_id
{joined}
WHERE l.kind = 'package' AND b.state IN ({billed})"""
        )
    )
