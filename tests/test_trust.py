"""Identity and grants as an intruder meets them: real OS accounts and real PostgreSQL roles.

No test seam here: the agent is read by the production code from the process's uid
(SQLite) or the session's role (PostgreSQL), and PostgreSQL itself refuses what the
role matrix refuses, whoever holds psql.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session

from regie_tui.db import make_engine
from regie_tui.models import Role
from regie_tui.services.common.sql import id_col
from regie_tui.services.trust.agents import add_agent
from regie_tui.services.trust.identity import os_login

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_regie(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regie_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("_seeded_town", ["sqlite"], indirect=True)
def test_on_sqlite_the_agent_is_the_process_account_not_logname(fresh_town_url):
    """LOGNAME=agent.test (the town's admin) set by an accueil agent does not make it admin."""
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:
        add_agent(db, login=os_login(), role=Role.ACCUEIL, display_name="Guichet", by=None)
        db.commit()
    engine.dispose()
    forged = {"LOGNAME": "agent.test", "USER": "agent.test", "USERNAME": "agent.test"}
    refused = run_regie("agent", "add", "evil", "--role", "admin", "--db", fresh_town_url, env=forged)
    assert refused.returncode == 1
    assert "réservé aux rôles administrateur ; vous êtes accueil" in refused.stderr
    listed = run_regie("family", "search", "a", "--db", fresh_town_url, "--json", env=forged)
    assert listed.returncode == 0, listed.stderr


# ------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_town(fresh_town_url, pg_cluster):
    """A writable PostgreSQL town; ``connect(login)`` is psql under that agent's own role."""
    suffix = os.getpid()
    logins = {role: f"t{suffix}_{role.value}" for role in (Role.ACCUEIL, Role.REGISSEUR, Role.ADMIN)}
    engine = make_engine(fresh_town_url)
    with Session(engine) as db:  # as the owner: it creates the first agents
        for role, login in logins.items():
            add_agent(db, login=login, role=role, display_name=None, by=None)
        db.commit()
    engine.dispose()
    url = make_url(fresh_town_url)
    host, port = url.query["host"], url.query["port"]  # the cluster's socket folder and port
    assert isinstance(host, str) and isinstance(port, str)

    def connect(login: str) -> psycopg.Connection:
        return psycopg.connect(host=host, port=int(port), user=login, dbname=url.database, autocommit=True)

    def agent_url(login: str) -> str:
        return url.set(username=login).render_as_string(hide_password=False)

    yield {"logins": logins, "connect": connect, "url": agent_url, "owner_url": fresh_town_url}
    for login in logins.values():
        pg_cluster.execute(f'REASSIGN OWNED BY "{login}" TO postgres')
        pg_cluster.execute(f'DROP OWNED BY "{login}"')
        pg_cluster.execute(f'DROP ROLE IF EXISTS "{login}"')


def allowed(conn: psycopg.Connection, sql: str) -> bool:
    """Whether PostgreSQL lets this role run ``sql`` (rolled back either way)."""
    try:
        with conn.transaction():
            conn.execute(sql)
            raise _Undo
    except _Undo:
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


class _Undo(Exception):
    pass


@pytest.mark.parametrize("_seeded_town", ["postgresql"], indirect=True)
def test_postgresql_enforces_the_role_matrix(pg_town):
    logins = pg_town["logins"]
    checks = {
        "read health text": "SELECT text FROM health_note",
        "count health notes": "SELECT count(id) FROM health_note",
        "write a health note": "UPDATE health_note SET text = text",
        "rewrite the audit": "UPDATE audit_entry SET action = action",
        "erase the audit": "DELETE FROM audit_entry",
        "set a rate": "UPDATE rate SET amount_cents = amount_cents",
        "issue a credit note": "INSERT INTO credit_note (id) SELECT NULL WHERE false",
        "close a cash day": "INSERT INTO cash_day (regie_id) SELECT NULL WHERE false",
        "add an agent": "INSERT INTO agent (login) SELECT NULL WHERE false",
        "make oneself admin": "SELECT regie_agent_grant(session_user, 'regie_admin')",
        "read families": "SELECT count(*) FROM family",
        "record a booking": "UPDATE booking SET version = version WHERE false",
    }
    expected = {
        Role.ACCUEIL: {
            "read health text", "count health notes", "write a health note", "read families", "record a booking",
        },
        Role.REGISSEUR: {
            "count health notes", "issue a credit note", "close a cash day", "read families", "record a booking",
        },
        Role.ADMIN: {
            "read health text", "count health notes", "write a health note", "set a rate", "issue a credit note",
            "close a cash day", "add an agent", "make oneself admin", "read families", "record a booking",
        },
    }  # fmt: skip
    for role, login in logins.items():
        with pg_town["connect"](login) as conn:
            granted = {name for name, sql in checks.items() if allowed(conn, sql)}
        assert granted == expected[role], role


@pytest.mark.parametrize("_seeded_town", ["postgresql"], indirect=True)
def test_postgresql_hides_health_rows_and_billed_cells_from_the_roles_without_them(pg_town):
    logins = pg_town["logins"]
    with pg_town["connect"](logins[Role.ADMIN]) as conn:
        conn.execute(
            "INSERT INTO audit_entry (at, source, action, entity, entity_id, after) "
            "VALUES (now(), 'agent', 'update', 'health_note', 1, '{\"text\": \"secret\"}')"
        )
        billed = conn.execute("SELECT booking_id FROM charge WHERE booking_id IS NOT NULL LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO child_diet (child_id, diet_id) SELECT (SELECT min(id) FROM child), "
            "(SELECT min(id) FROM diet WHERE health) ON CONFLICT DO NOTHING"
        )
    health_audit = "SELECT count(*) FROM audit_entry WHERE entity = 'health_note'"
    health_files = (
        "SELECT count(*) FROM stored_file f JOIN document d ON d.file_sha256 = f.sha256 "
        "JOIN document_type t ON t.id = d.document_type_id WHERE t.health"
    )
    other_files = "SELECT count(*) FROM stored_file"
    medical_diets = "SELECT count(*) FROM child_diet c JOIN diet d ON d.id = c.diet_id WHERE d.health"
    for role, visible in ((Role.ACCUEIL, True), (Role.REGISSEUR, False)):
        with pg_town["connect"](logins[role]) as conn:
            assert (conn.execute(health_audit).fetchone()[0] > 0) is visible, role
            assert (conn.execute(health_files).fetchone()[0] > 0) is visible, role  # vaccins, PAI…
            assert conn.execute(other_files).fetchone()[0] > 0, role  # an attestation CAF stays readable
            assert (conn.execute(medical_diets).fetchone()[0] > 0) is visible, role  # sans gluten, PAI…
    with pg_town["connect"](logins[Role.ADMIN]) as conn:
        family = conn.execute("SELECT family_id FROM child WHERE id = (SELECT min(id) FROM child)").fetchone()[0]
    shown = run_regie("family", "show", str(family), "--json", "--db", pg_town["url"](logins[Role.REGISSEUR]))
    assert shown.returncode == 0 and "régime médical (accès réservé)" in shown.stdout, shown.stderr  # that, not which
    unlock = f"UPDATE booking SET version = version + 1 WHERE id = {billed}"
    with pg_town["connect"](logins[Role.ACCUEIL]) as conn:
        assert not allowed(conn, unlock)
    with pg_town["connect"](logins[Role.REGISSEUR]) as conn:
        assert allowed(conn, unlock)


@pytest.mark.parametrize("_seeded_town", ["postgresql"], indirect=True)
def test_the_agent_is_the_sessions_role_and_deactivation_cuts_it_off(pg_town):
    logins = pg_town["logins"]
    accueil, regisseur, admin = logins[Role.ACCUEIL], logins[Role.REGISSEUR], logins[Role.ADMIN]
    # The owner runs migrations and creates agents, not the daily work.
    owner = run_regie("family", "search", "a", "--db", pg_town["owner_url"])
    assert owner.returncode == 1 and "compte propriétaire de la base" in owner.stderr
    # Each agent is its own role, whatever LOGNAME says.
    forged = {"LOGNAME": admin, "USER": admin}
    refused = run_regie("agent", "add", "evil", "--role", "admin", "--db", pg_town["url"](accueil), env=forged)
    assert refused.returncode == 1 and "vous êtes accueil" in refused.stderr
    # The app never asks PostgreSQL for what the role cannot read: the daily reads work under each role.
    for login in (accueil, regisseur):
        for command in (
            ("family", "show", "1", "--json"),
            ("roster", "2026-11-23", "--activity", "1", "--json"),
            ("inbox", "list", "--json"),
            ("payments", "journal", "2026-11-23", "--json"),
        ):
            done = run_regie(*command, "--db", pg_town["url"](login))
            assert done.returncode == 0, (login, command, done.stderr)
    added = run_regie("agent", "add", "t_nouveau", "--role", "accueil", "--db", pg_town["url"](admin))
    assert added.returncode == 0, added.stderr
    try:
        with pg_town["connect"]("t_nouveau") as conn:
            assert allowed(conn, "SELECT text FROM health_note")
        gone = run_regie("agent", "deactivate", "t_nouveau", "--db", pg_town["url"](admin))
        assert gone.returncode == 0, gone.stderr
        with pg_town["connect"]("t_nouveau") as conn:
            assert not allowed(conn, "SELECT count(*) FROM family")
        cut_off = run_regie("family", "search", "a", "--db", pg_town["url"]("t_nouveau"))
        assert cut_off.returncode == 1 and "Votre rôle PostgreSQL n'a aucun droit" in cut_off.stderr
        stranger = run_regie("family", "search", "a", "--db", pg_town["url"]("t_inconnu"))
        assert stranger.returncode == 1 and "Le rôle PostgreSQL « t_inconnu » n'existe pas" in stranger.stderr
    finally:
        with pg_town["connect"](admin) as conn:
            conn.execute("SELECT regie_agent_revoke('t_nouveau')")


@pytest.mark.parametrize("_seeded_town", ["postgresql"], indirect=True)
def test_what_postgresql_refuses_reads_as_one_french_line(pg_town):
    """Should a path of the app ever ask more than a role's grants, the agent reads why, in French."""
    import sqlalchemy as sa

    from regie_tui.errors import error_message

    engine = make_engine(pg_town["url"](pg_town["logins"][Role.REGISSEUR]))
    try:
        with pytest.raises(sa.exc.DBAPIError) as refused, engine.connect() as conn:
            conn.execute(sa.text("SELECT text FROM health_note"))
    finally:
        engine.dispose()
    message = error_message(refused.value)
    assert message.startswith("La base de données refuse cette opération à votre compte")
    assert "health_note" in message


@pytest.mark.parametrize("_seeded_town", ["postgresql"], indirect=True)
def test_a_health_document_in_the_bannette_under_each_role(pg_town):
    """Row-level security hides a PAI's file from the régisseur: the bannette still shows the item."""
    import base64
    import json

    from sqlmodel import col, select

    from regie_tui.clock import utc_now
    from regie_tui.models import Child, DocumentType, PortalAccount, Submission
    from regie_tui.services.portal.intake.run import import_submissions

    engine = make_engine(pg_town["owner_url"])
    with Session(engine) as db:
        pai = db.exec(select(id_col(DocumentType.id)).where(DocumentType.name == "PAI")).one()
        row = db.exec(
            select(PortalAccount.family_id, PortalAccount.email, Child.id)
            .join(Child, col(Child.family_id) == PortalAccount.family_id)
            .order_by(col(PortalAccount.family_id))
        ).first()
        assert row is not None
        family_id, account, child_id = row
        line = {
            "id": "t-pai",
            "kind": "document",
            "family": family_id,
            "account": account,
            "submitted_at": "2026-11-22T18:30:00+01:00",
            "document_type": pai,
            "child": child_id,
            "filename": "pai-secret.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(b"%PDF-1.4\n% PAI\n").decode(),
        }
        import_submissions(db, data=json.dumps(line).encode(), filename="t.jsonl", agent=None, now=utc_now())
        db.commit()
        item = str(db.exec(select(id_col(Submission.id)).where(Submission.portal_id == "t-pai")).one())
    engine.dispose()
    logins = pg_town["logins"]
    # On PostgreSQL the item itself is hidden from the régisseur (row-level security), as are
    # the portal's files as received (every family's lines, health documents included).
    hidden = run_regie("inbox", "show", item, "--db", pg_town["url"](logins[Role.REGISSEUR]))
    assert hidden.returncode == 1 and f"Aucun élément n° {item}" in hidden.stderr, hidden.stderr
    listed = run_regie("inbox", "list", "--json", "--db", pg_town["url"](logins[Role.REGISSEUR]))
    assert listed.returncode == 0 and "pai-secret" not in listed.stdout
    portal_files = "SELECT count(*) FROM stored_file f JOIN portal_import p ON p.file_sha256 = f.sha256"
    with pg_town["connect"](logins[Role.REGISSEUR]) as conn:
        assert conn.execute(portal_files).fetchone()[0] == 0
        assert (
            conn.execute("SELECT count(*) FROM submission WHERE payload::text LIKE '%pai-secret%'").fetchone()[0] == 0
        )
    with pg_town["connect"](logins[Role.ACCUEIL]) as conn:
        assert conn.execute(portal_files).fetchone()[0] > 0
    shown = run_regie("inbox", "show", item, "--db", pg_town["url"](logins[Role.ACCUEIL]))
    assert shown.returncode == 0 and "pai-secret.pdf" in shown.stdout, shown.stderr
