"""`regie sepa …`: a mandate recorded, the month's file written (valid, never twice), a reject reopening the invoice."""

import importlib.resources
import json

import pytest
from lxml import etree
from sqlmodel import Session, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.models import DebitBatch, Invoice, Regie, Role
from regie_tui.services.billing.accounts import invoice_balance
from regie_tui.services.trust.agents import add_agent, resolve_agent

from builders import add_family, add_invoice, add_regie
from helpers import act_as, get_row

runner = CliRunner()
CREDITOR = ["--creditor-iban", "FR7630004000031234567890143", "--creditor-bic", "BNPAFRPPXXX"]


def regie(db_url: str, *args: str):
    result = runner.invoke(cli.app, [*args, "--db", db_url])
    # French spaces in amounts made plain, on an attribute of the test's own (hence the ignore).
    result.plain = result.output.replace("\xa0", " ").replace("\u202f", " ")  # type: ignore[attr-defined]
    return result


@pytest.fixture
def town(engine, monkeypatch) -> dict[str, int]:
    """Régie pop (ICS), the family NOEL with an October invoice of 100 € issued on 2 November."""
    act_as(monkeypatch, "jbernard")
    with Session(engine) as db:
        regisseur = resolve_agent(db, "jbernard")  # the first login: administrator
        add_agent(db, login="smoreau", role=Role.ACCUEIL, display_name="Sophie Moreau", by=regisseur)
        regie_id = add_regie(db, "pop")
        get_row(db, Regie, regie_id).sepa_creditor_id = "FR72ZZZ123456"
        family = add_family(db, "NOEL", guardians=[("Hélène", "Noël", "0612345678", "helene@example.fr")])
        invoice = add_invoice(db, family, regie_id, "pop-F261000001", 10_000)
        db.commit()
    return {"family": family, "invoice": invoice}


def test_a_mandate_then_the_month_file_then_a_reject(engine, db_url, town, tmp_path):
    family = str(town["family"])
    folder = tmp_path / "banque"
    folder.mkdir()
    bad = regie(
        db_url,
        "sepa",
        "mandate-add",
        family,
        "--regie",
        "pop",
        "--iban",
        "FR7630006000011234567890180",
        "--signed",
        "01/11/2026",
    )
    assert bad.exit_code == 1 and "IBAN invalide : « FR7630006000011234567890180 »" in bad.plain
    added = regie(
        db_url, "sepa", "mandate-add", family, "--regie", "pop", "--iban", "FR76 3000 6000 0112 3456 7890 189",
        "--bic", "agrifrpp847", "--signed", "01/11/2026",
    )  # fmt: skip
    rum = f"POP-{town['family']:07d}-1"
    assert added.exit_code == 0, added.plain
    assert (
        f"Mandat {rum} enregistré : Hélène Noël, FR76 **** **** **** **** ***0 189, signé le 01/11/2026 (récurrent)."
        in added.plain
    )
    listed = json.loads(regie(db_url, "sepa", "mandates", family, "--json").plain)
    assert [(m["rum"], m["iban"], m["bic"], m["next_sequence"], m["state"]) for m in listed] == [
        (rum, "FR76 **** **** **** **** ***0 189", "AGRIFRPP847", "FRST", "Actif")
    ]

    dry = regie(
        db_url,
        "sepa",
        "export",
        "--month",
        "2026-10",
        "--regie",
        "pop",
        "--collection-date",
        "05/12/2026",
        "--dry-run",
    )
    assert dry.exit_code == 0, dry.plain
    assert "Simulation : 1 prélèvement(s), 100,00 €, le 05/12/2026 — rien n'est enregistré." in dry.plain
    dry_json = regie(
        db_url, "sepa", "export", "--month", "2026-10", "--regie", "pop", "--collection-date", "05/12/2026",
        "--dry-run", "--json",
    )  # fmt: skip
    planned = json.loads(dry_json.plain)
    assert planned["total_cents"] == 10_000 and [d["sequence"] for d in planned["debits"]] == ["FRST"]

    out = folder / "prelevements-2026-10.xml"
    args = ["sepa", "export", "--month", "2026-10", "--regie", "pop", "--out", str(out), *CREDITOR]
    past = regie(db_url, *args, "--collection-date", "20/11/2026")
    assert past.exit_code == 1 and "elle doit être postérieure à aujourd'hui (23/11/2026)" in past.plain
    assert not out.exists()
    exported = regie(db_url, *args, "--collection-date", "2026-12-05")
    assert exported.exit_code == 0, exported.plain
    assert f"Fichier {out} écrit : 1 prélèvement(s), 100,00 €, le 05/12/2026 (FRST : 1 (100,00 €))." in exported.plain
    xsd = importlib.resources.files("sepaxml") / "schemas" / "pain.008.001.02.xsd"
    with importlib.resources.as_file(xsd) as path:
        schema = etree.XMLSchema(etree.parse(str(path)))
    assert schema.validate(etree.parse(str(out))), schema.error_log
    assert [p.name for p in folder.iterdir()] == [out.name]  # no temporary file left
    with Session(engine) as db:
        assert invoice_balance(db, invoice=get_row(db, Invoice, town["invoice"])) == 0
        assert db.exec(select(DebitBatch.total_cents)).all() == [10_000]

    again = regie(
        db_url, *[a if a != str(out) else str(folder / "encore.xml") for a in args], "--collection-date", "10/12/2026"
    )
    assert again.exit_code == 1 and "Aucune facture à prélever pour pop en 10/2026" in again.plain
    assert not (folder / "encore.xml").exists()
    same_name = regie(db_url, *args, "--collection-date", "10/12/2026")
    assert same_name.exit_code == 1 and "existe déjà" in same_name.plain

    future = regie(db_url, "sepa", "reject", "pop-F261000001-1", "--reason", "AM04", "--on", "08/12/2026")
    assert future.exit_code == 1 and "Date de rejet 08/12/2026 dans le futur" in future.plain
    # the bank refuses it before the collection date (pre-settlement): recorded today
    rejected = regie(db_url, "sepa", "reject", "pop-F261000001-1", "--reason", "AM04", "--on", "23/11/2026")
    assert rejected.exit_code == 0, rejected.plain
    assert (
        "Prélèvement pop-F261000001-1 rejeté (AM04 – Provision insuffisante) : la facture pop-F261000001 est de "
        "nouveau due (100,00 €)." in rejected.plain
    )
    with Session(engine) as db:
        assert invoice_balance(db, invoice=get_row(db, Invoice, town["invoice"])) == 10_000
    listed = json.loads(regie(db_url, "sepa", "mandates", family, "--json").plain)
    assert listed[0]["next_sequence"] == "FRST"  # its first debit failed

    revoked = regie(db_url, "sepa", "mandate-revoke", rum.lower(), "--reason", "Courrier de la famille")
    assert revoked.exit_code == 0 and f"Mandat {rum} révoqué le 23/11/2026." in revoked.plain
    assert json.loads(regie(db_url, "sepa", "mandates", family, "--json").plain)[0]["state"] == "Révoqué le 23/11/2026"


def test_rejects_from_a_bank_report(engine, db_url, town, tmp_path):
    family = str(town["family"])
    assert (
        regie(
            db_url,
            "sepa",
            "mandate-add",
            family,
            "--regie",
            "pop",
            "--iban",
            "DE89370400440532013000",
            "--signed",
            "2026-11-01",
        ).exit_code
        == 0
    )
    out = tmp_path / "f.xml"
    exported = regie(
        db_url,
        "sepa",
        "export",
        "--month",
        "2026-10",
        "--regie",
        "pop",
        "--collection-date",
        "05/12/2026",
        "--out",
        str(out),
        *CREDITOR,
        "--json",
    )
    message_id = json.loads(exported.plain)["message_id"]
    report = tmp_path / "pain002.xml"
    report.write_text(
        f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
        <GrpHdr><MsgId>R1</MsgId><CreDtTm>2026-11-23T09:00:00</CreDtTm></GrpHdr>
        <OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts>
        <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-FRST</OrgnlPmtInfId>
        <TxInfAndSts><OrgnlEndToEndId>pop-F261000001-1</OrgnlEndToEndId><TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts>
        </CstmrPmtStsRpt></Document>""",
        encoding="utf-8",
    )
    imported = regie(db_url, "sepa", "rejects", str(report))
    assert imported.exit_code == 0, imported.plain
    assert "rejeté (AC04 – Compte clôturé) : la facture pop-F261000001 est de nouveau due (100,00 €)." in imported.plain
    assert f"Le mandat POP-{town['family']:07d}-1 est révoqué." in imported.plain
    assert "1 rejet(s) enregistré(s)." in imported.plain
    again = regie(db_url, "sepa", "rejects", str(report))
    assert "Déjà enregistrés : pop-F261000001-1." in again.plain and "0 rejet(s)" in again.plain
    missing = regie(db_url, "sepa", "rejects", str(tmp_path / "absent.xml"))
    assert missing.exit_code == 1 and "Impossible de lire" in missing.plain


def test_the_reception_desk_records_mandates_but_does_not_collect(engine, db_url, town, monkeypatch, tmp_path):
    act_as(monkeypatch, "smoreau")
    family = str(town["family"])
    added = regie(
        db_url,
        "sepa",
        "mandate-add",
        family,
        "--regie",
        "pop",
        "--iban",
        "DE89370400440532013000",
        "--signed",
        "2026-11-01",
    )
    assert added.exit_code == 0, added.plain
    refused = regie(
        db_url,
        "sepa",
        "export",
        "--month",
        "2026-10",
        "--regie",
        "pop",
        "--collection-date",
        "05/12/2026",
        "--out",
        str(tmp_path / "f.xml"),
        *CREDITOR,
    )
    assert refused.exit_code == 1 and "réservé aux rôles régisseur, administrateur" in refused.plain
    unknown = regie(db_url, "sepa", "mandates", "999999")
    assert unknown.exit_code == 1 and "Famille n° 999999 introuvable." in unknown.plain
    bad_month = regie(
        db_url,
        "sepa",
        "export",
        "--month",
        "octobre",
        "--regie",
        "pop",
        "--collection-date",
        "05/12/2026",
        "--dry-run",
    )
    assert bad_month.exit_code == 1 and "Mois invalide : « octobre » (attendu AAAA-MM" in bad_month.plain
