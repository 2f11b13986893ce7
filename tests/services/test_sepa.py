"""SEPA direct debit: mandates (RUM, IBAN/BIC, revocation, lapse), the monthly export, rejects."""

from dataclasses import dataclass
from datetime import date

import pytest
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import (
    AuditEntry,
    DebitBatch,
    DirectDebit,
    Invoice,
    InvoiceStatus,
    Mandate,
    MandateSequence,
    Payment,
    PaymentMode,
    Regie,
)
from regie_tui.reports.sepa_xml import export_file
from regie_tui.services.billing.accounts import invoice_balance
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import InvalidValue
from regie_tui.services.payments.sepa.batches import collection_dates, collection_text
from regie_tui.services.payments.sepa.export import prepare_export
from regie_tui.services.payments.sepa.mandates import (
    RUM_MAX_LENGTH,
    create_mandate,
    family_mandates,
    family_payer,
    find_mandate,
    is_active,
    lapses_on,
    mask_iban,
    new_rum,
    next_sequence,
    revoke_mandate,
)
from regie_tui.services.payments.sepa.returns import import_rejects, reject_debit

from builders import add_family, add_regie, pay
from helpers import TODAY, TODAY_HOUR, get_row

IBAN_A = "FR76 3000 6000 0112 3456 7890 189"
IBAN_B = "DE89370400440532013000"
IBAN_C = "FR1420041010050500013M02606"
CREDITOR_IBAN = "FR7630004000031234567890143"
CREDITOR_BIC = "BNPAFRPPXXX"
OCTOBER = date(2026, 10, 1)
COLLECTION = date(2026, 12, 5)


def test_rum():
    assert new_rum("pop", 42) == "POP-0000042-1"
    assert new_rum("alsh", 42, 2) == "ALSH-0000042-2"
    with pytest.raises(ValueError):
        new_rum("x" * RUM_MAX_LENGTH, 1)


def test_a_recurrent_mandate_is_first_then_recurrent():
    assert next_sequence(recurrent=True, last_used_on=None) is MandateSequence.FIRST
    assert next_sequence(recurrent=True, last_used_on=date(2026, 10, 20)) is MandateSequence.RECURRENT
    assert next_sequence(recurrent=False, last_used_on=None) is MandateSequence.ONE_OFF


def test_a_mandate_lapses_36_months_after_its_last_use():
    unused = Mandate(
        family_id=1,
        regie_id=1,
        rum="R",
        debtor_name="X",
        debtor_address="Y",
        iban="FR76",
        signed_on=date(2023, 11, 30),
        next_sequence=MandateSequence.FIRST,
    )
    assert lapses_on(unused) == date(2026, 11, 30)
    assert is_active(unused, date(2026, 11, 29)) and not is_active(unused, date(2026, 11, 30))
    unused.last_used_on = date(2024, 2, 29)
    assert lapses_on(unused) == date(2027, 2, 28)
    assert is_active(unused, date(2026, 12, 5))
    unused.revoked_on = date(2026, 12, 1)
    assert not is_active(unused, date(2026, 12, 5))


def test_the_iban_is_masked_on_screen():
    assert mask_iban("FR7630006000011234567890189") == "FR76 **** **** **** **** ***0 189"


# ----------------------------------------------------------------------------- the world


@dataclass
class World:
    regie_id: int
    families: dict[str, int]
    invoices: dict[str, int]


def add_invoice(db: Session, family_id: int, regie_id: int, number: str, total: int, issued: date) -> int:
    start = date(issued.year, issued.month - 1, 1) if issued.month > 1 else date(issued.year - 1, 12, 1)
    invoice = Invoice(
        number=number,
        regie_id=regie_id,
        family_id=family_id,
        period_start=start,
        period_end=start.replace(day=28),
        issue_date=issued,
        due_date=date(issued.year + (issued.month == 12), issued.month % 12 + 1, 2),
        total_cents=total,
        status=InvoiceStatus.ISSUED,
        debtor_name="X",
        debtor_address="Y",
    )
    db.add(invoice)
    db.flush()
    return id_of(invoice)


def mandate(db: Session, family_id: int, regie_id: int, iban: str = IBAN_A, **fields) -> Mandate:
    fields.setdefault("signed_on", date(2026, 9, 1))
    view = create_mandate(
        db,
        family_id=family_id,
        regie_id=regie_id,
        debtor_name=fields.pop("debtor_name", "Hélène Noël"),
        debtor_address="3 rue des Lilas, 88800 Vittel",
        iban=iban,
        bic=fields.pop("bic", ""),
        signed_on=fields.pop("signed_on"),
        recurrent=fields.pop("recurrent", True),
        agent_id=None,
        today=TODAY,
    )
    row = get_row(db, Mandate, view.id)
    for name, value in fields.items():
        setattr(row, name, value)
    db.add(row)
    db.flush()
    return row


def build(db: Session) -> World:
    """Régie 'pop' (ICS) and families, each with an October invoice issued on 2 November:
    NOEL (new mandate, FRST), BLANC (mandate used before, RCUR), VERT (no mandate), ROUX
    (mandate, invoice paid), GRIS (mandate revoked), BRUN (mandate, invoice partly paid),
    plus ALSH's invoice of a mandated family in another régie."""
    regie_id = add_regie(db, "pop")
    alsh = add_regie(db, "alsh")
    for regie in db.exec(select(Regie)).all():
        regie.sepa_creditor_id = "FR72ZZZ123456" if regie.code == "pop" else "FR19ZZZ654321"
        db.add(regie)
    families = {
        name: add_family(db, name, guardians=[("Hélène", name.title(), "0612345678", "")])
        for name in ("NOEL", "BLANC", "VERT", "ROUX", "GRIS", "BRUN")
    }
    issued = date(2026, 11, 2)
    invoices = {
        name: add_invoice(db, family_id, regie_id, f"pop-F2610{index:05d}", 10_000 + index, issued)
        for index, (name, family_id) in enumerate(families.items(), start=1)
    }
    invoices["ALSH"] = add_invoice(db, families["NOEL"], alsh, "alsh-F261000001", 5_000, issued)
    mandate(db, families["NOEL"], regie_id, bic="AGRIFRPP847")
    mandate(db, families["NOEL"], alsh, IBAN_C)
    mandate(
        db,
        families["BLANC"],
        regie_id,
        IBAN_B,
        bic="COBADEFFXXX",
        last_used_on=date(2026, 10, 17),
        next_sequence=MandateSequence.RECURRENT,
    )
    mandate(db, families["ROUX"], regie_id)
    mandate(db, families["GRIS"], regie_id, revoked_on=date(2026, 11, 10))
    mandate(db, families["BRUN"], regie_id, IBAN_C)
    pay(db, families["ROUX"], regie_id, invoices["ROUX"], 10_004, "pop-R261100001")
    pay(db, families["BRUN"], regie_id, invoices["BRUN"], 4_000, "pop-R261100002")
    db.commit()
    return World(regie_id=regie_id, families=families, invoices=invoices)


@pytest.fixture
def world(engine) -> World:
    with Session(engine) as db:
        return build(db)


def export(db: Session, collection: date = COLLECTION):
    """The export as the CLI runs it: the batch (services.sepa.export_debits), then its file."""
    return export_file(
        db,
        regie_code="pop",
        month=OCTOBER,
        collection_date=collection,
        today=TODAY,
        creditor_iban=CREDITOR_IBAN,
        creditor_bic=CREDITOR_BIC,
        agent_id=None,
    )


# ------------------------------------------------------------------------------ mandates


def test_a_new_mandate_gets_its_rum_and_a_checked_account(engine, world):
    with Session(engine) as db:
        vert = world.families["VERT"]
        view = create_mandate(
            db,
            family_id=vert,
            regie_id=world.regie_id,
            debtor_name="  Hélène   Vert ",
            debtor_address="3 rue des Lilas\n88800 Vittel",
            iban="fr14 2004 1010 0505 0001 3m02 606",
            bic="psstfrppnte",
            signed_on=date(2026, 11, 20),
            recurrent=True,
            agent_id=None,
            today=TODAY,
        )
        db.commit()
        assert view.rum == f"POP-{vert:07d}-1"
        assert (view.iban, view.bic) == ("FR1420041010050500013M02606", "PSSTFRPPNTE")
        assert (view.debtor_name, view.debtor_address) == ("Hélène Vert", "3 rue des Lilas, 88800 Vittel")
        assert view.next_sequence == "FRST" and view.active and view.state == "Actif"
        assert view.lapses_on == date(2029, 11, 20)
        entry = db.exec(select(AuditEntry).where(AuditEntry.action == "create_mandate")).all()[-1]
        assert entry.after is not None
        assert entry.family_id == vert and entry.after["iban"] == "FR14 **** **** **** **** ***2 606"
        assert "FR1420041010050500013M02606" not in str(entry.after)  # the audit keeps the IBAN masked


@pytest.mark.parametrize(
    ("iban", "bic", "signed", "message"),
    [
        (
            "FR76 3000 6000 0112 3456 7890 180",
            "",
            date(2026, 11, 1),
            "IBAN invalide : « FR76 3000 6000 0112 3456 7890 180 »",
        ),
        (IBAN_A, "BNPAFR", date(2026, 11, 1), "BIC invalide : « BNPAFR » (8 ou 11 caractères)"),
        ("BR1800360305000010009795493C1", "", date(2026, 11, 1), "IBAN hors de la zone SEPA"),
        (IBAN_A, "", date(2026, 11, 24), "Date de signature dans le futur : 24/11/2026"),
        (IBAN_A, "", date(2023, 11, 1), "jamais utilisé : caduc après 36 mois (depuis le 01/11/2026)"),
    ],
)
def test_a_bad_mandate_is_refused_in_french(engine, world, iban, bic, signed, message):
    with Session(engine) as db, pytest.raises(InvalidValue) as refused:
        create_mandate(
            db,
            family_id=world.families["VERT"],
            regie_id=world.regie_id,
            debtor_name="Hélène Vert",
            debtor_address="Vittel",
            iban=iban,
            bic=bic,
            signed_on=signed,
            recurrent=True,
            agent_id=None,
            today=TODAY,
        )
    assert message in refused.value.message


def test_a_new_mandate_replaces_the_active_one_and_revocation_stops_debits(engine, world):
    noel = world.families["NOEL"]
    with Session(engine) as db:
        first = family_mandates(db, family_id=noel, today=TODAY)
        assert [(m.regie_code, m.rum, m.active) for m in first] == [
            ("alsh", f"ALSH-{noel:07d}-1", True),  # same signature day: the last recorded first
            ("pop", f"POP-{noel:07d}-1", True),
        ]
        second = create_mandate(
            db,
            family_id=noel,
            regie_id=world.regie_id,
            debtor_name="Hélène Noël",
            debtor_address="Vittel",
            iban=IBAN_B,
            bic="",
            signed_on=date(2026, 11, 20),
            recurrent=True,
            agent_id=None,
            today=TODAY,
        )
        db.commit()
        assert second.rum == f"POP-{noel:07d}-2"
        old = find_mandate(db, rum=f"pop-{noel:07d}-1", today=TODAY)
        assert old.revoked_on == TODAY and old.state == "Révoqué le 23/11/2026" and not old.active
        plan = prepare_export(
            db, regie_code="pop", month=OCTOBER, collection_date=COLLECTION, today=TODAY, agent_id=None
        )
        assert {d.invoice_number: d.rum for d in plan.debits}["pop-F261000001"] == second.rum

        revoked = revoke_mandate(db, mandate_id=second.id, on=TODAY, reason="Lettre de la famille", agent_id=None)
        db.commit()
        assert revoked.revoked_on == TODAY and not revoked.active
        plan = prepare_export(
            db, regie_code="pop", month=OCTOBER, collection_date=COLLECTION, today=TODAY, agent_id=None
        )
        assert "pop-F261000001" not in [d.invoice_number for d in plan.debits]
        with pytest.raises(RegieError, match="déjà révoqué"):
            revoke_mandate(db, mandate_id=second.id, on=TODAY, reason="encore", agent_id=None)
        with pytest.raises(InvalidValue, match="Motif de la révocation obligatoire"):
            revoke_mandate(db, mandate_id=first[0].id, on=TODAY, reason="  ", agent_id=None)
        reasons = [
            (e.after or {}).get("reason")
            for e in db.exec(select(AuditEntry).where(AuditEntry.action == "revoke_mandate"))
        ]
        assert reasons == [f"Remplacé par le mandat {second.rum}", "Lettre de la famille"]


def test_the_account_holder_defaults_to_the_paying_guardian(engine, world):
    with Session(engine) as db:
        assert family_payer(db, family_id=world.families["VERT"]) == ("Hélène Vert", "1 rue de la Gare, 88800 Vittel")
        with pytest.raises(NotFound, match="Famille n° 999999 introuvable"):
            family_payer(db, family_id=999_999)


# -------------------------------------------------------------------------------- export


def test_the_export_takes_open_invoices_of_families_with_an_active_mandate(engine, world):
    with Session(engine) as db:
        plan = prepare_export(
            db, regie_code="POP", month=OCTOBER, collection_date=COLLECTION, today=TODAY, agent_id=None
        )
    debits = {d.invoice_number: (d.amount_cents, d.sequence) for d in plan.debits}
    assert debits == {
        "pop-F261000001": (10_001, "FRST"),  # NOEL: never debited
        "pop-F261000002": (10_002, "RCUR"),  # BLANC: debited in October
        "pop-F261000006": (6_006, "FRST"),  # BRUN: what is left after a cheque
    }  # VERT has no mandate, ROUX paid, GRIS revoked, alsh is another régie
    assert plan.total_cents == 26_009
    assert plan.by_sequence() == {"FRST": (2, 16_007), "RCUR": (1, 10_002)}


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        (date(2026, 11, 23), "Date de prélèvement 23/11/2026 : elle doit être postérieure à aujourd'hui (23/11/2026)."),
        (
            date(2026, 12, 3),
            "Prélèvement le 03/12/2026 trop tôt : la facture pop-F261100009 émise le 20/11/2026 annonce le "
            "prélèvement 14 jours avant ; date de prélèvement au plus tôt le 04/12/2026.",
        ),
    ],
)
def test_a_collection_date_too_soon_is_refused(engine, world, collection, message):
    with Session(engine) as db:
        add_invoice(db, world.families["NOEL"], world.regie_id, "pop-F261100009", 2_000, date(2026, 11, 20))
        db.commit()
        with pytest.raises(InvalidValue) as refused:
            prepare_export(db, regie_code="pop", month=OCTOBER, collection_date=collection, today=TODAY, agent_id=None)
        assert refused.value.message == message
        assert (
            len(
                prepare_export(
                    db, regie_code="pop", month=OCTOBER, collection_date=date(2026, 12, 4), today=TODAY, agent_id=None
                ).debits
            )
            == 4
        )


def test_an_unknown_service_is_refused(engine, world):
    with Session(engine) as db, pytest.raises(NotFound, match=r"Régie « cantine » inconnue \(régies : alsh, pop\)."):
        prepare_export(db, regie_code="cantine", month=OCTOBER, collection_date=COLLECTION, today=TODAY, agent_id=None)


def test_export_records_the_batch_the_payments_and_moves_mandates_on(engine, world):
    with Session(engine) as db:
        xml, summary = export(db)
        db.commit()
        assert summary.count == 3 and summary.total_cents == 26_009
        assert summary.end_to_end_ids == ["pop-F261000001-1", "pop-F261000002-1", "pop-F261000006-1"]
        batch = db.exec(select(DebitBatch)).one()
        assert (batch.message_id, batch.transaction_count, batch.total_cents) == (summary.message_id, 3, 26_009)
        assert batch.message_id.startswith("POP") and len(batch.message_id) <= 35
        assert xml.count(b"<PmtInf>") == 2 and b"<SeqTp>FRST</SeqTp>" in xml and b"<SeqTp>RCUR</SeqTp>" in xml
        debits = db.exec(select(DirectDebit).order_by(col(DirectDebit.id))).all()
        assert [d.sequence for d in debits] == [MandateSequence.FIRST, MandateSequence.RECURRENT, MandateSequence.FIRST]
        for debit in debits:
            payment = db.get(Payment, debit.payment_id)
            assert payment is not None
            assert payment.mode == PaymentMode.DIRECT_DEBIT and payment.amount_cents == debit.amount_cents
            assert payment.received_on == COLLECTION and payment.reference.startswith("Prélèvement SEPA POP-")
            assert invoice_balance(db, invoice=get_row(db, Invoice, debit.invoice_id)) == 0
        noel = db.exec(
            select(Mandate).where(Mandate.family_id == world.families["NOEL"], Mandate.regie_id == world.regie_id)
        ).one()
        assert (noel.next_sequence, noel.last_used_on) == (MandateSequence.RECURRENT, COLLECTION)
        assert lapses_on(noel) == date(2029, 12, 5)
        shown = collection_dates(db, invoice_ids=list(world.invoices.values()))
        assert shown == {world.invoices[n]: COLLECTION for n in ("NOEL", "BLANC", "BRUN")}
        assert collection_text(COLLECTION, TODAY) == "En prélèvement le 05/12/2026"
        assert collection_text(COLLECTION, date(2026, 12, 6)) == "Prélevée le 05/12/2026"
        exported = db.exec(select(AuditEntry).where(AuditEntry.action == "sepa_export")).one().after
        assert exported is not None and exported["count"] == 3
        # Nothing is presented twice.
        with pytest.raises(RegieError, match="Aucune facture à prélever pour pop en 10/2026"):
            export(db, date(2026, 12, 10))


def test_a_one_off_mandate_is_used_once(engine, world):
    with Session(engine) as db:
        vert = world.families["VERT"]
        mandate(db, vert, world.regie_id, recurrent=False)
        db.commit()
        _, summary = export(db)
        db.commit()
        assert {d.invoice_number: d.sequence for d in summary.debits}["pop-F261000003"] == "OOFF"
        used = db.exec(select(Mandate).where(Mandate.family_id == vert)).one()
        assert used.next_sequence == MandateSequence.ONE_OFF and used.last_used_on == COLLECTION
        assert [m.state for m in family_mandates(db, family_id=vert, today=TODAY)] == ["Utilisé (ponctuel)"]


def test_a_failing_payment_rolls_the_whole_export_back(engine, world, monkeypatch):
    from regie_tui.services.payments.recording import record_payment
    from regie_tui.services.payments.sepa import export as sepa_export

    calls = []

    def second_fails(db, **kwargs):
        calls.append(kwargs["invoice_numbers"])
        if len(calls) == 2:
            raise RegieError("La journée de caisse est close.")
        return real(db, **kwargs)

    real = record_payment  # the function sepa_export calls, from its own module
    monkeypatch.setattr(sepa_export, "record_payment", second_fails)
    with Session(engine) as db:
        with pytest.raises(RegieError, match="journée de caisse est close"):
            export(db)
        db.rollback()
        assert db.exec(select(DebitBatch)).all() == [] and db.exec(select(DirectDebit)).all() == []
        assert db.exec(select(Payment).where(Payment.mode == PaymentMode.DIRECT_DEBIT)).all() == []
        noel = db.exec(select(Mandate).where(Mandate.family_id == world.families["NOEL"])).first()
        assert noel is not None
        assert noel.last_used_on is None and noel.next_sequence == MandateSequence.FIRST


# -------------------------------------------------------------------------------- rejects

#: The day the bank's rejects below are recorded: a reject is never dated after today.
BANK_DAY = date(2026, 12, 10)


@pytest.fixture
def bank_day(monkeypatch):
    monkeypatch.setenv("REGIE_TODAY", f"{BANK_DAY.isoformat()}T{TODAY_HOUR}")


@pytest.mark.usefixtures("bank_day")
def test_a_rejected_debit_reopens_the_invoice_and_can_be_presented_again(engine, world):
    with Session(engine) as db:
        export(db)
        db.commit()
        rejected = reject_debit(
            db, end_to_end_id="pop-F261000001-1", rejected_on=date(2026, 12, 8), reason="am04", agent_id=None
        )
        db.commit()
        assert rejected.reason == "AM04 – Provision insuffisante" and not rejected.mandate_revoked
        invoice = db.get(Invoice, world.invoices["NOEL"])
        assert invoice is not None
        assert invoice_balance(db, invoice=invoice) == 10_001
        payment = db.get(
            Payment,
            db.exec(select(DirectDebit.payment_id).where(DirectDebit.end_to_end_id == "pop-F261000001-1")).one(),
        )
        assert payment is not None
        assert payment.rejected_on == date(2026, 12, 8) and payment.rejection_reason == "AM04 – Provision insuffisante"
        assert world.invoices["NOEL"] not in collection_dates(db, invoice_ids=[world.invoices["NOEL"]])
        noel = db.exec(select(Mandate).where(Mandate.rum == rejected.mandate_rum)).one()
        assert (noel.next_sequence, noel.last_used_on) == (MandateSequence.FIRST, None)  # the first debit failed
        with pytest.raises(RegieError, match="déjà rejeté"):
            reject_debit(db, end_to_end_id="pop-F261000001-1", rejected_on=date(2026, 12, 9), reason="x", agent_id=None)
        with pytest.raises(NotFound, match="Prélèvement « nope » introuvable"):
            reject_debit(db, end_to_end_id="nope", rejected_on=date(2026, 12, 9), reason="x", agent_id=None)
        _, again = export(db, date(2026, 12, 20))
        db.commit()
        assert again.end_to_end_ids == ["pop-F261000001-2"]
        assert [d.sequence for d in again.debits] == ["FRST"]


@pytest.mark.usefixtures("bank_day")
def test_a_closed_account_revokes_the_mandate(engine, world):
    with Session(engine) as db:
        export(db)
        db.commit()
        rejected = reject_debit(
            db, end_to_end_id="pop-F261000002-1", rejected_on=date(2026, 12, 1), reason="AC04", agent_id=None
        )
        db.commit()
        assert rejected.mandate_revoked and rejected.reason == "AC04 – Compte clôturé"
        blanc = db.exec(select(Mandate).where(Mandate.rum == rejected.mandate_rum)).one()
        assert blanc.revoked_on == date(2026, 12, 1) and blanc.next_sequence == MandateSequence.RECURRENT
        # A reject before the collection date: the payment is rejected on the collection date.
        payment = db.exec(
            select(Payment).where(Payment.mode == PaymentMode.DIRECT_DEBIT, col(Payment.rejected_on).is_not(None))
        ).one()
        assert payment.rejected_on == COLLECTION


def status_report(message_id: str, *transactions: tuple[str, str]) -> bytes:
    tx = "".join(
        f"<TxInfAndSts><StsId>S{i}</StsId><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>"
        for i, (e2e, code) in enumerate(transactions)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>RPT1</MsgId><CreDtTm>2026-12-02T08:15:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-FRST</OrgnlPmtInfId>{tx}
      <TxInfAndSts><OrgnlEndToEndId>pop-F261000006-1</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>""".encode()


@pytest.mark.usefixtures("bank_day")
def test_a_bank_status_report_rejects_its_debits_once(engine, world):
    with Session(engine) as db:
        _, summary = export(db)
        db.commit()
        data = status_report(summary.message_id, ("pop-F261000001-1", "MD01"), ("pop-F999999999-1", "AM04"))
        imported = import_rejects(db, data=data, agent_id=None)
        db.commit()
        assert [(r.end_to_end_id, r.reason, r.rejected_on, r.mandate_revoked) for r in imported.rejected] == [
            ("pop-F261000001-1", "MD01 – Pas de mandat", date(2026, 12, 2), True)
        ]
        assert imported.unknown == ["pop-F999999999-1"] and imported.already == []
        assert invoice_balance(db, invoice=get_row(db, Invoice, world.invoices["NOEL"])) == 10_001
        assert invoice_balance(db, invoice=get_row(db, Invoice, world.invoices["BRUN"])) == 0  # accepted
        again = import_rejects(db, data=data, agent_id=None)
        assert again.rejected == [] and again.already == ["pop-F261000001-1"]
        with pytest.raises(RegieError, match="pas un rapport de statut SEPA pain.002.001.03"):
            import_rejects(db, data=b"<Document><x/></Document>", agent_id=None)
        with pytest.raises(RegieError, match="pas un rapport de statut"):
            import_rejects(db, data=b"not xml", agent_id=None)


@pytest.mark.usefixtures("bank_day")
def test_a_whole_rejected_file_rejects_every_debit(engine, world):
    with Session(engine) as db:
        _, summary = export(db)
        db.commit()
        data = f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
          <GrpHdr><MsgId>RPT2</MsgId><CreDtTm>2026-12-06T08:00:00</CreDtTm></GrpHdr>
          <OrgnlGrpInfAndSts><OrgnlMsgId>{summary.message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
          <GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
          </CstmrPmtStsRpt></Document>""".encode()
        imported = import_rejects(db, data=data, agent_id=None)
        db.commit()
        assert sorted(r.end_to_end_id for r in imported.rejected) == summary.end_to_end_ids
        assert {r.reason for r in imported.rejected} == {"FF01 – Format de fichier invalide"}
        assert collection_dates(db, invoice_ids=list(world.invoices.values())) == {}
