"""The pain.008.001.02 file is valid against the official XSD (the one sepaxml ships), on both engines."""

import importlib.resources
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from sqlmodel import Session, select

from regie_tui.models import Invoice, InvoiceStatus, Mandate, MandateSequence, Regie, Town
from regie_tui.reports.sepa_xml import NAMESPACE, Creditor, batch_xml, export_file, pain008, sepa_id, sepa_text
from regie_tui.services.payments.sepa.batches import DebitLine
from regie_tui.services.payments.sepa.mandates import create_mandate

from builders import add_family, add_regie
from helpers import TODAY

NS = {"p": NAMESPACE}
CREDITOR = Creditor(
    name="Ville de Rivebelle", iban="FR7630004000031234567890143", bic="BNPAFRPPXXX", creditor_id="FR72ZZZ123456"
)
LONG_NAME = "Marie-Hélène de La Tour d'Auvergne-Lauraguais & Cœur épouse Müller-Lüdenscheidt von Großenhain"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    xsd = importlib.resources.files("sepaxml") / "schemas" / "pain.008.001.02.xsd"
    with importlib.resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def valid(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    return document


def texts(document: etree._Element, path: str) -> list[str]:
    return [e.text for e in document.findall(path, NS)]


def line(**fields) -> DebitLine:
    values: dict[str, Any] = {
        "end_to_end_id": "pop-F261000001-1",
        "amount_cents": 12_345,
        "sequence": "FRST",
        "rum": "POP-0000001-1",
        "signed_on": date(2026, 9, 1),
        "debtor_name": "Hélène Noël",
        "debtor_iban": "FR7630006000011234567890189",
        "debtor_bic": "",
        "remittance": "pop-F261000001",
    }
    return DebitLine(**(values | fields))


def test_the_sepa_character_set_and_lengths():
    assert sepa_text("Hélène Noël & Œdipe — n° 3 ; ok", 70) == "Helene Noel + OEdipe n 3 ok"
    assert len(sepa_text(LONG_NAME, 70)) == 70
    assert sepa_id("pop F2610 // 0001/") == "popF2610/0001"


def test_a_file_with_every_sequence_type_is_valid(schema):
    lines = [
        line(),
        line(end_to_end_id="pop-F261000002-1", sequence="RCUR", amount_cents=5, debtor_bic="COBADEFFXXX"),
        line(end_to_end_id="pop-F261000003-1", sequence="OOFF", debtor_name=LONG_NAME, remittance="x" * 200),
        line(end_to_end_id="pop-F261000004-1", sequence="FNAL", amount_cents=100_000_00),
    ]
    xml = pain008(
        message_id="POP261123101010abcdef",
        created_at=datetime(2026, 11, 23, 10, 10, 10),
        initiating_party="Ville de Rivebelle",
        creditor=CREDITOR,
        collection_date=date(2026, 12, 5),
        lines=lines,
    )
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = valid(schema, xml)
    assert texts(document, ".//p:GrpHdr/p:NbOfTxs") == ["4"]
    assert texts(document, ".//p:GrpHdr/p:CtrlSum") == ["100246.95"]
    assert texts(document, ".//p:PmtInf/p:PmtTpInf/p:SeqTp") == ["FRST", "RCUR", "OOFF", "FNAL"]
    assert texts(document, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"] * 3
    assert texts(document, ".//p:Dbtr/p:Nm")[2] == sepa_text(LONG_NAME, 70)
    assert len(texts(document, ".//p:RmtInf/p:Ustrd")[2]) == 140


def test_the_schema_really_checks(schema):
    xml = pain008(
        message_id="M1",
        created_at=datetime(2026, 11, 23, 10, 0),
        initiating_party="Ville",
        creditor=CREDITOR,
        collection_date=date(2026, 12, 5),
        lines=[line(debtor_bic="NOTABIC")],
    )
    assert not schema.validate(etree.fromstring(xml))  # a malformed BIC is caught by the XSD


# ------------------------------------------------------------------ from the database


@pytest.fixture
def exported(engine):
    """A régie, three families with mandates (a new one without BIC, one debited before, one one-off)
    and their October invoices; exported for 5 December."""
    with Session(engine) as db:
        db.add(
            Town(
                name="Ville de Rivebelle",
                service_name="Pôle enfance",
                address="1 place de la Mairie",
                postal_code="44000",
                city="Rivebelle",
                phone="0240961200",
                email="regie@rivebelle.fr",
                school_zone="B",
                appeal_notice="Recours",
            )
        )
        regie_id = add_regie(db, "pop")
        regie = db.get(Regie, regie_id)
        assert regie is not None
        regie.sepa_creditor_id = "FR72ZZZ123456"
        for index, (name, bic, recurrent, used) in enumerate(
            [
                (LONG_NAME, "", True, None),
                ("Jean Blanc", "COBADEFFXXX", True, date(2026, 10, 17)),
                ("Zoé Vert", "PSSTFRPPNTE", False, None),
            ],
            start=1,
        ):
            family_id = add_family(db, f"FAMILLE{index}")
            db.add(
                Invoice(
                    number=f"pop-F26100000{index}",
                    regie_id=regie_id,
                    family_id=family_id,
                    period_start=date(2026, 10, 1),
                    period_end=date(2026, 10, 31),
                    issue_date=date(2026, 11, 2),
                    due_date=date(2026, 12, 2),
                    total_cents=4_250 * index,
                    status=InvoiceStatus.ISSUED,
                    debtor_name=name,
                    debtor_address="Vittel",
                )
            )
            view = create_mandate(
                db,
                family_id=family_id,
                regie_id=regie_id,
                debtor_name=name,
                debtor_address="3 rue des Lilas, 88800 Vittel",
                iban=["FR7630006000011234567890189", "DE89370400440532013000", "FR1420041010050500013M02606"][
                    index - 1
                ],
                bic=bic,
                signed_on=date(2026, 9, 1),
                recurrent=recurrent,
                agent_id=None,
                today=TODAY,
            )
            if used:
                mandate = db.get(Mandate, view.id)
                assert mandate is not None
                mandate.last_used_on, mandate.next_sequence = used, MandateSequence.RECURRENT
                db.add(mandate)
        db.commit()
        xml, summary = export_file(
            db,
            regie_code="pop",
            month=date(2026, 10, 1),
            collection_date=date(2026, 12, 5),
            today=TODAY,
            creditor_iban=CREDITOR.iban,
            creditor_bic=CREDITOR.bic,
            agent_id=None,
        )
        db.commit()
        yield db, xml, summary


def test_the_exported_file_is_valid_against_the_official_xsd(schema, exported):
    db, xml, summary = exported
    document = valid(schema, xml)
    assert texts(document, ".//p:GrpHdr/p:MsgId") == [summary.message_id]
    assert texts(document, ".//p:InitgPty/p:Nm") == ["Ville de Rivebelle"]
    assert texts(document, ".//p:GrpHdr/p:NbOfTxs") == ["3"]
    assert Decimal(texts(document, ".//p:GrpHdr/p:CtrlSum")[0]) == Decimal("255.00")
    blocks = document.findall(".//p:PmtInf", NS)
    assert [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) for b in blocks] == ["FRST", "RCUR", "OOFF"]
    for block in blocks:
        assert block.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) == "CORE"
        assert block.findtext("p:ChrgBr", namespaces=NS) == "SLEV"
        assert block.findtext("p:ReqdColltnDt", namespaces=NS) == "2026-12-05"
        assert block.findtext("p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == "FR72ZZZ123456"
        assert block.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == CREDITOR.iban
    assert texts(document, ".//p:InstdAmt") == ["42.50", "85.00", "127.50"]
    assert texts(document, ".//p:MndtRltdInf/p:MndtId") == [
        debit.rum for debit in sorted(summary.debits, key=lambda d: d.invoice_number)
    ]
    assert texts(document, ".//p:MndtRltdInf/p:DtOfSgntr") == ["2026-09-01"] * 3
    assert texts(document, ".//p:RmtInf/p:Ustrd") == ["pop-F261000001", "pop-F261000002", "pop-F261000003"]
    assert texts(document, ".//p:Dbtr/p:Nm")[0] == sepa_text(LONG_NAME, 70)
    assert texts(document, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"]
    # The file can be made again from the database, identical.
    batch_id = summary.batch_id
    assert batch_xml(db, batch_id=batch_id, creditor_iban=CREDITOR.iban, creditor_bic=CREDITOR.bic) == xml
    assert db.exec(select(Regie.code)).all() == ["pop"]
