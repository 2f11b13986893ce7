"""Who may run what: every command as a stranger, and health data in every output, by role.

The commands are found by walking the Typer app (as the French help test does), so a new
command is covered without being listed here.
"""

import json

import pytest
import typer
from pypdf import PdfReader
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from regie_tui import cli
from regie_tui.db import make_engine
from regie_tui.labels import HEALTH_KIND, label
from regie_tui.models import Booking, BookingState, Child, HealthNote, Unit
from regie_tui.services.common.sql import id_col

from helpers import ADMIN_LOGIN, TODAY, act_as

runner = CliRunner()

#: Commands that work before any agent exists: the schema and the demo town (into an empty base).
NO_AGENT = {("db", "upgrade"), ("db", "status"), ("seed",)}
#: The seeded town's agents, by role.
ROLES = {"admin": ADMIN_LOGIN, "accueil": "smoreau", "regisseur": "jbernard"}
SEES_HEALTH = {"admin": True, "accueil": True, "regisseur": False}


def regie(*args: str):
    return runner.invoke(cli.app, list(args), prog_name="regie")


def leaf_commands() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            paths.append(path)
            return
        for name, sub in subs.items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(cli.app), ())
    return paths


def test_the_walk_covers_every_room():
    rooms = {path[0] for path in leaf_commands()}
    assert {"agent", "family", "inbox", "booking", "roster", "invoices", "payments", "sepa", "rates"} <= rooms
    assert len(leaf_commands()) >= 40


@pytest.mark.parametrize("path", sorted(set(leaf_commands()) - NO_AGENT), ids=" ".join)
def test_a_stranger_runs_no_command(path, town_url, monkeypatch):
    """Before any other argument is read, a login that is not an agent is refused in French."""
    act_as(monkeypatch, "intrus")
    result = regie(*path, "--db", town_url)
    assert result.exit_code == 1, result.output
    assert "« intrus » n'est pas un agent de la régie" in result.output
    assert "Traceback" not in result.output


def test_a_deactivated_agent_runs_nothing(fresh_town_url, monkeypatch):
    act_as(monkeypatch, ADMIN_LOGIN)
    assert regie("agent", "deactivate", "smoreau", "--db", fresh_town_url).exit_code == 0
    act_as(monkeypatch, "smoreau")
    refused = regie("family", "search", "a", "--db", fresh_town_url)
    assert refused.exit_code == 1 and "désactivé" in refused.output
    act_as(monkeypatch, ADMIN_LOGIN)
    assert regie("agent", "reactivate", "smoreau", "--db", fresh_town_url).exit_code == 0
    act_as(monkeypatch, "smoreau")
    assert regie("family", "search", "a", "--db", fresh_town_url).exit_code == 0


def test_the_portal_account_only_imports(fresh_town_url, monkeypatch, tmp_path):
    act_as(monkeypatch, ADMIN_LOGIN)
    assert regie("agent", "add", "portail", "--role", "portail", "--db", fresh_town_url).exit_code == 0
    act_as(monkeypatch, "portail")
    refused = regie("family", "show", "1", "--db", fresh_town_url)
    assert refused.exit_code == 1 and "vous êtes portail famille" in refused.output
    empty = tmp_path / "vide.jsonl"
    empty.write_text("")
    imported = regie("inbox", "import", str(empty), "--db", fresh_town_url)
    assert imported.exit_code == 0, imported.output


def test_agent_management_is_the_admins(fresh_town_url, monkeypatch):
    act_as(monkeypatch, "jbernard")
    for args in (("add", "evil", "--role", "admin"), ("role", "jbernard", "--role", "admin"), ("list",)):
        refused = regie("agent", *args, "--db", fresh_town_url)
        assert refused.exit_code == 1 and "réservé aux rôles administrateur" in refused.output
    act_as(monkeypatch, ADMIN_LOGIN)
    assert regie("agent", "role", "jbernard", "--role", "accueil", "--db", fresh_town_url).exit_code == 0
    listed = json.loads(regie("agent", "list", "--db", fresh_town_url, "--json").output)
    assert {"login": "jbernard", "role": "accueil"}.items() <= next(
        a for a in listed if a["login"] == "jbernard"
    ).items()


# ------------------------------------------------------------------ health data by role


@pytest.fixture(scope="module")
def health_case(town_url):
    """A child of the seeded town with a health note, a day and activity it is booked on."""
    engine = make_engine(town_url)
    try:
        with Session(engine) as db:
            row = db.exec(
                select(HealthNote.child_id, Child.family_id, HealthNote.kind, HealthNote.text)
                .join(Child, col(Child.id) == HealthNote.child_id)
                .where(col(HealthNote.valid_until).is_(None))
                .order_by(col(HealthNote.id))
            ).first()
            assert row is not None
            child_id, family_id, kind, text = row
            activity_id = db.exec(
                select(Unit.activity_id)
                .join(Booking, col(Booking.unit_id) == Unit.id)
                .where(Booking.child_id == child_id, Booking.day == TODAY, Booking.state == BookingState.RESERVED)
            ).first()
    finally:
        engine.dispose()
    assert activity_id is not None, "the seeded town books a child with a health note today"
    return {"family": str(family_id), "activity": str(activity_id), "text": text, "kind": label(HEALTH_KIND, kind)}


@pytest.mark.parametrize("role", ROLES)
def test_health_text_only_for_the_roles_allowed(role, health_case, town_url, monkeypatch, tmp_path):
    """The family file, the roster (text, JSON and PDF): the note's text only where the matrix allows."""
    act_as(monkeypatch, ROLES[role])
    text = health_case["text"]
    outputs = {
        "fiche": regie("family", "show", health_case["family"], "--db", town_url),
        "fiche json": regie("family", "show", health_case["family"], "--db", town_url, "--json"),
        "pointage": regie("roster", TODAY.isoformat(), "--activity", health_case["activity"], "--db", town_url),
        "pointage json": regie(
            "roster", TODAY.isoformat(), "--activity", health_case["activity"], "--db", town_url, "--json"
        ),
    }
    pdf = tmp_path / "pointage.pdf"
    printed = regie(
        "roster", TODAY.isoformat(), "--activity", health_case["activity"], "--pdf", str(pdf), "--db", town_url
    )
    assert printed.exit_code == 0, printed.output
    pdf_text = " ".join((page.extract_text() or "") for page in PdfReader(pdf).pages)
    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.output)
    word = max(text.split(), key=len)  # tables wrap lines, never inside a word
    seen = {name: word in result.output for name, result in outputs.items()}
    # The printed roster fits 80 columns: the note is cut there, its kind is not.
    seen["pointage"] = health_case["kind"] in outputs["pointage"].output
    seen["pointage pdf"] = word in pdf_text
    assert seen == dict.fromkeys(seen, SEES_HEALTH[role]), seen


@pytest.fixture
def health_trail(fresh_town_url):
    """A fresh town where the admin changed a health note (an audit entry) and the family
    asked for another text through the portal (a pending health request)."""
    from regie_tui.clock import utc_now
    from regie_tui.models import PortalAccount, Submission
    from regie_tui.services.families.edit import set_fields
    from regie_tui.services.portal.intake.run import import_submissions
    from regie_tui.services.trust.agents import resolve_agent

    engine = make_engine(fresh_town_url)
    try:
        with Session(engine) as db:
            row = db.exec(
                select(id_col(HealthNote.id), Child.family_id)
                .join(Child, col(Child.id) == HealthNote.child_id)
                .join(PortalAccount, col(PortalAccount.family_id) == Child.family_id)
                .order_by(col(HealthNote.id))
            ).first()
            assert row is not None
            note_id, family_id = row
            admin = resolve_agent(db, ADMIN_LOGIN)
            set_fields(
                db,
                family_id=family_id,
                entity="health_note",
                entity_id=note_id,
                values={"text": "Asthme : ventoline en cas de crise"},
                agent_id=admin.id,
            )
            account = db.exec(select(PortalAccount.email).where(PortalAccount.family_id == family_id)).one()
            line = {
                "id": "t-health",
                "kind": "change",
                "family": family_id,
                "account": account,
                "submitted_at": "2026-11-20T08:00:00+01:00",
                "entity": "health_note",
                "entity_id": note_id,
                "field": "text",
                "old": "Asthme : ventoline en cas de crise",
                "new": "Asthme sévère : nébuliseur",
            }
            import_submissions(db, data=json.dumps(line).encode(), filename="t.jsonl", agent=None, now=utc_now())
            db.commit()
            item = db.exec(select(id_col(Submission.id)).where(Submission.portal_id == "t-health")).one()
    finally:
        engine.dispose()
    return {"url": fresh_town_url, "family": str(family_id), "item": str(item)}


@pytest.mark.parametrize("role", ROLES)
def test_health_text_in_the_bannette_the_history_and_the_rgpd_export_only_for_the_roles_allowed(
    role, health_trail, monkeypatch, tmp_path
):
    act_as(monkeypatch, ROLES[role])
    url = health_trail["url"]
    exported = regie("rgpd", "export", health_trail["family"], "--out", str(tmp_path / "rgpd"), "--db", url)
    assert (exported.exit_code == 0) is SEES_HEALTH[role], exported.output
    if SEES_HEALTH[role]:
        family = health_trail["family"]
        assert "ventoline" in (tmp_path / "rgpd" / f"famille-{family}-rgpd.json").read_text()
        pdf = PdfReader(tmp_path / "rgpd" / f"famille-{family}-rgpd.pdf")
        assert "ventoline" in " ".join(page.extract_text() or "" for page in pdf.pages)
    else:
        assert not (tmp_path / "rgpd").exists()
    outputs = {
        "bannette": regie("inbox", "show", health_trail["item"], "--db", url),
        "bannette json": regie("inbox", "show", health_trail["item"], "--db", url, "--json"),
        "historique (fiche json)": regie("family", "show", health_trail["family"], "--db", url, "--json"),
    }
    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.output)
    seen = {
        "bannette": "nébuliseur" in outputs["bannette"].output,
        "bannette json": "nébuliseur" in outputs["bannette json"].output,
        "historique (fiche json)": "ventoline" in outputs["historique (fiche json)"].output,
    }
    assert seen == dict.fromkeys(seen, SEES_HEALTH[role]), seen
    decided = regie("inbox", "accept", health_trail["item"], "--db", url)
    assert (decided.exit_code == 0) is SEES_HEALTH[role], decided.output


def test_reserved_actions_are_refused_to_the_roles_without_them(fresh_town_url, monkeypatch, tmp_path):
    """The desk previews the month, the régisseur issues it; only the admin publishes on the portal."""
    url = fresh_town_url
    act_as(monkeypatch, ROLES["accueil"])
    month = ("invoices", "run", "--month", "2026-11", "--regie", "pop", "--db", url)
    assert regie(*month, "--dry-run").exit_code == 0
    refused = regie(*month)
    assert refused.exit_code == 1 and "l'émission des factures" in refused.output
    news: tuple[str, ...] = (
        "publish",
        "news",
        "--title",
        "Fermeture",
        "--text",
        "Fermé le 24.",
        "--from",
        "24/11/2026",
        "--to",
        "30/11/2026",
    )
    news = (*news, "--db", url)
    refused = regie(*news)
    assert refused.exit_code == 1 and "les publications du portail" in refused.output, refused.output
    act_as(monkeypatch, ROLES["regisseur"])
    assert "les publications du portail" in regie(*news).output
    issued = regie(*month)
    assert issued.exit_code == 0, issued.output
