"""`regie rgpd export` (JSON, PDF, documents) and `regie rgpd purge` (dry run, run, JSON), by role."""

import io
import json
from datetime import UTC, datetime

from pypdf import PdfReader
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli, formatting
from regie_tui.db import make_engine
from regie_tui.models import AuditEntry, Child, Family, HealthNote, Invoice, Message, MessageDirection, Source
from regie_tui.services.families.edit import archive_family
from regie_tui.services.trust.agents import resolve_agent

from helpers import ADMIN_LOGIN, TODAY_HOUR, act_as

runner = CliRunner()


def regie(*args: str):
    return runner.invoke(cli.app, list(args))


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def read(url: str, query):
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.exec(query).all()
    engine.dispose()
    return found


def a_long_message_and_a_long_history_entry(url: str, family_id: int) -> None:
    """Texts taller than a page (a table cell that tall could not be laid out)."""
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(
            Message(
                family_id=family_id,
                direction=MessageDirection.INCOMING,
                subject="Un long message",
                body="Bonjour, " * 1100 + "FIN-DU-MESSAGE",
                sent_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            )
        )
        cells = [{"day": f"2026-12-{d:02d}", "unit": u, "action": "book"} for d in range(1, 29) for u in range(1, 15)]
        session.add(
            AuditEntry(
                source=Source.PORTAL, action="decide", entity="submission", entity_id=1, family_id=family_id,
                after={"cells": cells},
            )
        )  # fmt: skip
        session.commit()
    engine.dispose()


def test_export_writes_the_json_the_pdf_and_the_documents_once(fresh_town_url, tmp_path, monkeypatch):
    act_as(monkeypatch, "smoreau")  # accueil: may read health data
    a_long_message_and_a_long_history_entry(fresh_town_url, 9)
    note = read(fresh_town_url, select(HealthNote.text).join(Child).where(Child.family_id == 9))[0]
    invoice = read(fresh_town_url, select(Invoice).where(Invoice.family_id == 9).order_by(Invoice.number))[0]
    target = tmp_path / "export"

    result = regie("rgpd", "export", "9", "--out", str(target), "--db", fresh_town_url)
    assert result.exit_code == 0, result.output
    assert "Export RGPD de la famille BAZIN (n° 9)" in result.output
    assert "famille-9-rgpd.json" in result.output and "famille-9-documents/" in result.output

    data = json.loads((target / "famille-9-rgpd.json").read_text(encoding="utf-8"))
    assert data["family"]["name"] == "BAZIN" and data["exported_by"]["login"] == "smoreau"
    assert [n["text"] for n in data["health_notes"]] == [note]
    assert invoice.number in [i["number"] for i in data["invoices"]]
    assert list(data) == sorted(data)  # stable keys
    for document in data["documents"]:
        assert (target / document["exported_as"]).read_bytes()[:5] == b"%PDF-"
    # Health data: for the agent's account only.
    assert target.stat().st_mode & 0o777 == 0o700 and (target / "famille-9-documents").stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in target.rglob("*") if p.is_file()} == {0o600}

    text = plain(pdf_text(target / "famille-9-rgpd.pdf"))
    assert "Export RGPD – famille BAZIN (dossier n° 9)" in text
    assert invoice.number in text and plain(formatting.money(invoice.total_cents)) in text
    assert note.split()[0] in text and "Informations sanitaires" in text
    assert "FIN-DU-MESSAGE" in text and "suite dans le fichier JSON" in text
    assert [len(h["after"]["cells"]) for h in data["history"] if "cells" in (h["after"] or {})] == [28 * 14]

    again = regie("rgpd", "export", "9", "--out", str(target), "--db", fresh_town_url)
    assert again.exit_code == 1 and "contient déjà l'export RGPD de la famille n° 9" in again.output
    exports = read(fresh_town_url, select(AuditEntry).where(AuditEntry.action == "rgpd_export"))
    assert [(e.family_id, e.entity) for e in exports] == [(9, "family")]  # the refused one left no trace


def test_a_regisseur_may_not_export(fresh_town_url, tmp_path, monkeypatch):
    act_as(monkeypatch, "jbernard")
    target = tmp_path / "export"
    result = regie("rgpd", "export", "9", "--out", str(target), "--db", fresh_town_url)
    assert result.exit_code == 1 and "Accès refusé (l'export RGPD d'une famille)" in result.output
    assert not target.exists()
    assert not read(fresh_town_url, select(AuditEntry).where(AuditEntry.action == "rgpd_export"))
    missing = regie("rgpd", "export", "404", "--out", str(target), "--db", fresh_town_url)
    assert missing.exit_code == 1 and not target.exists()


def test_purge_dry_run_then_run(fresh_town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    engine = make_engine(fresh_town_url)
    with Session(engine) as session:
        admin = resolve_agent(session, ADMIN_LOGIN)
        for family_id in (9, 12):
            archive_family(session, family_id=family_id, agent_id=admin.id)
        session.commit()
    engine.dispose()
    monkeypatch.setenv("REGIE_TODAY", f"2028-06-01T{TODAY_HOUR}")  # the town's bookings end in August 2027

    dry = regie("rgpd", "purge", "--before", "2028-01-01", "--dry-run", "--json", "--db", fresh_town_url)
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] and plan["before"] == "2028-01-01" and plan["count"] == 1
    assert [(f["id"], f["name"]) for f in plan["families"]] == [(9, "BAZIN")]
    assert [f["id"] for f in plan["kept_owing"]] == [12]  # GRÉGOIRE still owes: the debt needs its debtor
    assert plan["families"][0]["removed"]["health_notes"] == 1 and plan["families"][0]["kept"]["invoices"] == 2
    assert read(fresh_town_url, select(Family.name).where(col(Family.id).in_((9, 12))).order_by(col(Family.id))) == [
        "BAZIN",
        "GRÉGOIRE",
    ]
    text = regie("rgpd", "purge", "--before", "01/01/2028", "--dry-run", "--db", fresh_town_url)
    assert "Simulation, rien n'est modifié : 1 famille(s)" in text.output and "n° 9 BAZIN" in text.output
    assert "n° 12 gardée : solde dû" in text.output

    act_as(monkeypatch, "smoreau")
    refused = regie("rgpd", "purge", "--before", "2028-01-01", "--db", fresh_town_url)
    assert refused.exit_code == 1 and "Accès refusé (l'anonymisation RGPD)" in refused.output

    act_as(monkeypatch, ADMIN_LOGIN)
    done = regie("rgpd", "purge", "--before", "2028-01-01", "--db", fresh_town_url)
    assert done.exit_code == 0, done.output
    assert "1 famille(s) anonymisée(s)" in done.output and "n° 9 → ANONYMISÉ-9" in done.output
    assert "BAZIN" not in done.output and "trace légale" in done.output
    assert read(fresh_town_url, select(Family.name).where(col(Family.id).in_((9, 12))).order_by(col(Family.id))) == [
        "ANONYMISÉ-9",
        "GRÉGOIRE",
    ]
    assert not read(fresh_town_url, select(HealthNote).join(Child).where(Child.family_id == 9))
    again = regie("rgpd", "purge", "--before", "2028-01-01", "--json", "--db", fresh_town_url)
    assert json.loads(again.stdout)["families"] == []

    future = regie("rgpd", "purge", "--before", "2029-01-01", "--db", fresh_town_url)
    assert future.exit_code == 1 and "dans le futur" in future.output
    typo = regie("rgpd", "purge", "--before", "31/02/2028", "--db", fresh_town_url)
    assert typo.exit_code == 1 and "Erreur" in typo.output and "Traceback" not in typo.output
