"""Invoice, receipt and credit-note numbers and their series."""

from datetime import date

from regie_tui.services.billing.numbering import NumberKind, format_number, number_prefix, series_name


def test_invoice_number_of_a_month():
    prefix = number_prefix(NumberKind.INVOICE, "pop", date(2026, 11, 1))
    assert prefix == "pop-F2611"
    assert format_number(prefix, 12) == "pop-F261100012"
    assert series_name(NumberKind.INVOICE, prefix) == "invoice:pop-F2611"


def test_receipts_and_credit_notes_have_their_own_letter_and_series():
    receipt = number_prefix(NumberKind.RECEIPT, "alsh", date(2027, 2, 14))
    credit = number_prefix(NumberKind.CREDIT_NOTE, "alsh", date(2027, 2, 14))
    assert (receipt, credit) == ("alsh-R2702", "alsh-A2702")
    assert series_name(NumberKind.RECEIPT, receipt) != series_name(NumberKind.CREDIT_NOTE, credit)
