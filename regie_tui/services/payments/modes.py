"""The modes of payment: their French names, the words they are typed with, and their rules.

- espèces: 300 € at most (``CASH_LIMIT_CENTS``);
- chèque: its number and its bank;
- CESU: only childcare of children under 6, never a meal (see ``payments.cesu``);
- PayFiP: one invoice, in full, with its transaction reference (unique);
- prélèvement: one invoice (recorded by the SEPA run, not at the desk).
"""

from collections.abc import Sequence
from datetime import date

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.models import CASH_LIMIT_CENTS, PaymentMode

REFERENCE_MAX = 80
BANK_MAX = 80
PAYER_MAX = 200

MODE_LABELS = {
    PaymentMode.CASH: "Espèces",
    PaymentMode.CHEQUE: "Chèque",
    PaymentMode.CARD: "Carte bancaire",
    PaymentMode.TRANSFER: "Virement",
    PaymentMode.CESU: "CESU",
    PaymentMode.ANCV: "Chèques vacances ANCV",
    PaymentMode.PAYFIP: "PayFiP (en ligne)",
    PaymentMode.DIRECT_DEBIT: "Prélèvement SEPA",
}
#: The French words a mode is typed with (without accents, lower case).
MODE_WORDS = {
    "especes": PaymentMode.CASH,
    "espece": PaymentMode.CASH,
    "cheque": PaymentMode.CHEQUE,
    "carte": PaymentMode.CARD,
    "cb": PaymentMode.CARD,
    "virement": PaymentMode.TRANSFER,
    "cesu": PaymentMode.CESU,
    "ancv": PaymentMode.ANCV,
    "cheques-vacances": PaymentMode.ANCV,
    "payfip": PaymentMode.PAYFIP,
    "prelevement": PaymentMode.DIRECT_DEBIT,
}
#: The modes an agent records at the desk (a direct debit comes from the SEPA run).
DESK_MODES = (
    PaymentMode.CASH,
    PaymentMode.CHEQUE,
    PaymentMode.CARD,
    PaymentMode.TRANSFER,
    PaymentMode.CESU,
    PaymentMode.ANCV,
    PaymentMode.PAYFIP,
)
#: Modes whose money goes to its own invoice(s) only, without spending earlier credit.
NO_CREDIT_MODES = frozenset({PaymentMode.PAYFIP, PaymentMode.DIRECT_DEBIT, PaymentMode.CESU})
#: Modes dated by their operator (PayFiP, the bank), known after the day: a closed cash day takes them.
OPERATOR_DATED = frozenset({PaymentMode.PAYFIP, PaymentMode.DIRECT_DEBIT})
#: Modes a bank or issuer may return unpaid.
REJECTABLE_MODES = frozenset({PaymentMode.CHEQUE, PaymentMode.DIRECT_DEBIT, PaymentMode.CESU, PaymentMode.ANCV})


def parse_mode(text: str) -> PaymentMode:
    """A mode typed in French: especes, cheque, carte, virement, cesu, ancv, payfip, prelevement."""
    key = text.strip().lower()
    for accented, plain in (("è", "e"), ("é", "e"), ("ê", "e"), (" ", "-")):
        key = key.replace(accented, plain)
    if key in MODE_WORDS:
        return MODE_WORDS[key]
    raise RegieError(
        f"Mode de règlement inconnu « {text} » : especes, cheque, carte, virement, cesu, ancv, payfip ou prelevement."
    )


def check_mode(mode: PaymentMode, amount_cents: int, reference: str, bank: str, numbers: Sequence[str]) -> None:
    """Refuse (in French) an amount, a reference or a bank the mode does not take, or the wrong invoices."""
    if amount_cents <= 0:
        raise RegieError(f"Montant invalide : {formatting.money(amount_cents)} (il doit être supérieur à zéro).")
    if len(reference) > REFERENCE_MAX:
        raise RegieError(f"Référence trop longue ({len(reference)} caractères, {REFERENCE_MAX} au plus).")
    if len(bank) > BANK_MAX:
        raise RegieError(f"Nom de banque trop long ({len(bank)} caractères, {BANK_MAX} au plus).")
    if mode == PaymentMode.CASH and amount_cents > CASH_LIMIT_CENTS:
        raise RegieError(
            f"Un règlement en espèces est limité à {formatting.money(CASH_LIMIT_CENTS)} "
            f"({formatting.money(amount_cents)} demandés) : proposez un autre mode."
        )
    if mode == PaymentMode.CHEQUE and (not reference or not bank):
        raise RegieError("Un chèque s'enregistre avec son numéro et sa banque.")
    if mode == PaymentMode.PAYFIP:
        if len(numbers) != 1:
            raise RegieError("Un paiement PayFiP règle une seule facture, en entier : indiquez-la.")
        if not reference:
            raise RegieError("Paiement en ligne sans référence de transaction PayFiP.")
    if mode == PaymentMode.DIRECT_DEBIT and len(numbers) != 1:
        raise RegieError("Un prélèvement SEPA règle une seule facture : indiquez-la.")


def payment_state(cancelled_on: date | None, rejected_on: date | None) -> str:
    """What a payment's state reads: 'annulé', 'rejeté', or '' while it stands."""
    return "annulé" if cancelled_on else "rejeté" if rejected_on else ""
