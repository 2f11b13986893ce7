"""roles: the portal's agent role; on PostgreSQL, group roles and grants enforcing the role matrix

- agent.role gains 'portail' (the portal's account: imports its file, nothing else);
- document_type.health: the types whose files are health data (vaccins, fiche sanitaire,
  PAI), and diet.health: the medical diets (sans gluten, sans lactose, PAI alimentaire),
  set here for an existing town by their names;
- PostgreSQL only (SQLite is one desk: the file's permissions are its access control):
  - group roles regie_accueil, regie_regisseur, regie_admin, regie_portail (NOLOGIN,
    shared by the cluster); each agent's login role is a member of one of them;
  - regie_agent_grant(login, group) / regie_agent_revoke(login): SECURITY DEFINER
    functions, executable by regie_admin only, creating an agent's login role if need be
    and setting its one group (the owner running this migration needs CREATEROLE);
  - the desk roles read and write every table, except:
    - audit_entry: insert and read only, for every role (the trail is never rewritten);
    - health_note: regie_regisseur and regie_portail read its id, child and validity only
      (not the kind nor the text), and write nothing; rows carrying health data elsewhere
      are hidden from regie_regisseur by row-level security (audit entries of health notes,
      portal change requests on health notes and health documents, the files of health
      documents and the portal's files as received, a child's medical diets);
    - rate: written by regie_admin only; agent: written by regie_admin only;
    - credit_note, credit_note_line, cash_day: written by regie_regisseur and regie_admin;
    - a billed booking (one with a charge) is changed or deleted by regie_regisseur and
      regie_admin only (a trigger);
  - regie_portail reads what the import checks and inserts what it stores;
  - default privileges give the desk roles the base grants on tables later migrations
    create; a migration adding a sensitive table restricts it (tests/test_grants.py
    checks every table against the matrix).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ROLES_BEFORE = "'accueil', 'regisseur', 'admin'"
ROLES_AFTER = ROLES_BEFORE + ", 'portail'"

DESK_GROUPS = ("regie_accueil", "regie_regisseur", "regie_admin")
ALL_GROUPS = (*DESK_GROUPS, "regie_portail")
HEALTH_READERS = "regie_accueil, regie_admin"
MONEY_ONLY = "regie_regisseur, regie_portail"
ACCOUNTABLE = "regie_regisseur, regie_admin"

#: What the portal's import reads is everything but health text; what it stores:
PORTAL_INSERTS = ("submission", "portal_import", "stored_file", "document", "message", "portal_login", "audit_entry")

AGENT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION regie_agent_grant(login text, grp text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    other text;
BEGIN
    IF grp NOT IN ('regie_accueil', 'regie_regisseur', 'regie_admin', 'regie_portail') THEN
        RAISE EXCEPTION 'Rôle de groupe inconnu : %', grp USING ERRCODE = '22023';
    END IF;
    IF login !~ '^[a-z_][a-z0-9_.-]{0,62}$' OR login LIKE 'regie\\_%' OR login LIKE 'pg\\_%' THEN
        RAISE EXCEPTION 'Identifiant d''agent invalide : %', login USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login AND (rolsuper OR NOT rolcanlogin)) THEN
        RAISE EXCEPTION 'Le rôle % n''est pas un compte d''agent', login USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', login);
    END IF;
    FOREACH other IN ARRAY ARRAY['regie_accueil', 'regie_regisseur', 'regie_admin', 'regie_portail'] LOOP
        IF other <> grp THEN
            EXECUTE format('REVOKE %I FROM %I', other, login);
        END IF;
    END LOOP;
    EXECUTE format('GRANT %I TO %I', grp, login);
END $$;

CREATE OR REPLACE FUNCTION regie_agent_revoke(login text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    grp text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        RETURN;
    END IF;
    FOREACH grp IN ARRAY ARRAY['regie_accueil', 'regie_regisseur', 'regie_admin', 'regie_portail'] LOOP
        EXECUTE format('REVOKE %I FROM %I', grp, login);
    END LOOP;
END $$;

REVOKE ALL ON FUNCTION regie_agent_grant(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION regie_agent_revoke(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION regie_agent_grant(text, text) TO regie_admin;
GRANT EXECUTE ON FUNCTION regie_agent_revoke(text) TO regie_admin;
"""

BILLED_BOOKING_LOCK = """
CREATE OR REPLACE FUNCTION regie_billed_booking_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM charge WHERE booking_id = OLD.id)
       AND NOT (pg_has_role('regie_regisseur', 'MEMBER') OR pg_has_role('regie_admin', 'MEMBER'))
       AND current_user <> (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())
    THEN
        RAISE EXCEPTION 'Cellule facturée : modifiable par un régisseur seulement' USING ERRCODE = '42501';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER regie_billed_booking_lock BEFORE UPDATE OR DELETE ON booking
FOR EACH ROW EXECUTE FUNCTION regie_billed_booking_lock();
"""


def _set_roles(roles: str) -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_agent_agent_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_agent_agent_role"), f"role IN ({roles})")


def _create_group_roles() -> None:
    for group in ALL_GROUPS:
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') "
            f"THEN CREATE ROLE {group} NOLOGIN; END IF; END $$"
        )


def _grant() -> None:
    desk = ", ".join(DESK_GROUPS)
    everyone = ", ".join(ALL_GROUPS)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {everyone}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {desk}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {everyone}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {desk}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {everyone}")
    # The portal's account reads every table but health_note, and inserts what it stores.
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO regie_portail")
    op.execute(f"GRANT INSERT ON {', '.join(PORTAL_INSERTS)} TO regie_portail")
    # The audit trail: inserted and read, never rewritten.
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_entry FROM {everyone}")
    # Health text: only who receives the children.
    op.execute(f"REVOKE ALL ON health_note FROM {MONEY_ONLY}")
    op.execute(f"GRANT SELECT (id, child_id, valid_until) ON health_note TO {MONEY_ONLY}")
    # Reserved actions.
    op.execute("REVOKE INSERT, UPDATE, DELETE ON rate, agent FROM regie_accueil, regie_regisseur")
    op.execute("REVOKE INSERT, UPDATE, DELETE ON credit_note, credit_note_line, cash_day FROM regie_accueil")
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON agent FROM regie_admin")
    op.execute("GRANT UPDATE (role, active, display_name) ON agent TO regie_admin")
    # Rows carrying health text elsewhere (row-level security; the owner is not subject to it).
    op.execute("ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY audit_entry_read ON audit_entry FOR SELECT TO {HEALTH_READERS} USING (true)")
    op.execute(
        f"CREATE POLICY audit_entry_read_no_health ON audit_entry FOR SELECT TO {MONEY_ONLY} "
        "USING (entity <> 'health_note' AND NOT coalesce(before::jsonb ? 'diets' OR after::jsonb ? 'diets', false))"
    )
    op.execute(f"CREATE POLICY audit_entry_insert ON audit_entry FOR INSERT TO {everyone} WITH CHECK (true)")
    op.execute("ALTER TABLE submission ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY submission_all ON submission TO {HEALTH_READERS} USING (true) WITH CHECK (true)")
    op.execute(
        "CREATE POLICY submission_no_health ON submission TO regie_regisseur "
        f"USING ({NOT_HEALTH_SUBMISSION}) WITH CHECK ({NOT_HEALTH_SUBMISSION})"
    )
    op.execute("CREATE POLICY submission_portal ON submission TO regie_portail USING (true) WITH CHECK (true)")
    op.execute("ALTER TABLE stored_file ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY stored_file_all ON stored_file TO {HEALTH_READERS}, regie_portail USING (true) WITH CHECK (true)"
    )
    op.execute(
        "CREATE POLICY stored_file_no_health ON stored_file FOR SELECT TO regie_regisseur USING (NOT EXISTS ("
        "SELECT 1 FROM document d JOIN document_type t ON t.id = d.document_type_id "
        "WHERE d.file_sha256 = stored_file.sha256 AND t.health) "
        # the portal's files as received: every line of every family, health included
        "AND NOT EXISTS (SELECT 1 FROM portal_import p WHERE p.file_sha256 = stored_file.sha256))"
    )
    op.execute("CREATE POLICY stored_file_insert ON stored_file FOR INSERT TO regie_regisseur WITH CHECK (true)")
    op.execute("ALTER TABLE child_diet ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY child_diet_all ON child_diet TO {HEALTH_READERS}, regie_portail USING (true) WITH CHECK (true)"
    )
    not_medical = "NOT EXISTS (SELECT 1 FROM diet WHERE diet.id = child_diet.diet_id AND diet.health)"
    op.execute(
        f"CREATE POLICY child_diet_not_medical ON child_diet TO regie_regisseur "
        f"USING ({not_medical}) WITH CHECK ({not_medical})"
    )


#: The health documents' types of an existing town, by their name (vaccins, fiche sanitaire, PAI).
HEALTH_TYPE_NAMES = " OR ".join(
    f"lower(name) LIKE '{pattern}'" for pattern in ("%vaccin%", "%sanitaire%", "pai", "pai %", "% pai", "% pai %")
)


#: A portal submission a régisseur may read: not a health-note change, not a health document.
NOT_HEALTH_SUBMISSION = (
    "NOT (kind = 'change' AND (payload ->> 'entity') = 'health_note') AND NOT EXISTS ("
    "SELECT 1 FROM document d JOIN document_type t ON t.id = d.document_type_id "
    "WHERE d.id = submission.document_id AND t.health)"
)

#: The medical diets of an existing town, by their label.
MEDICAL_DIETS = " OR ".join(
    f"lower(label) LIKE '{pattern}'" for pattern in ("%gluten%", "%lactose%", "%allerg%", "pai %", "% pai %")
)


def upgrade() -> None:
    _set_roles(ROLES_AFTER)
    with op.batch_alter_table("document_type", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE document_type SET health = true WHERE {HEALTH_TYPE_NAMES}")
    with op.batch_alter_table("diet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE diet SET health = true WHERE {MEDICAL_DIETS}")
    # Which children have a medical diet, not which one: what the roles without health data may
    # know (on PostgreSQL the view reads child_diet as its owner, past the row-level security).
    op.execute(
        "CREATE VIEW child_medical_diet AS SELECT DISTINCT c.child_id FROM child_diet c "
        "JOIN diet d ON d.id = c.diet_id WHERE d.health"
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    _create_group_roles()
    op.execute(AGENT_FUNCTIONS)
    op.execute(BILLED_BOOKING_LOCK)
    _grant()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS regie_billed_booking_lock ON booking")
        op.execute("DROP FUNCTION IF EXISTS regie_billed_booking_lock()")
        for table in ("audit_entry", "submission", "stored_file", "child_diet"):
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for policy, table in (
            ("audit_entry_read", "audit_entry"),
            ("audit_entry_read_no_health", "audit_entry"),
            ("audit_entry_insert", "audit_entry"),
            ("submission_all", "submission"),
            ("submission_no_health", "submission"),
            ("submission_portal", "submission"),
            ("stored_file_all", "stored_file"),
            ("stored_file_no_health", "stored_file"),
            ("stored_file_insert", "stored_file"),
            ("child_diet_all", "child_diet"),
            ("child_diet_not_medical", "child_diet"),
        ):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS regie_agent_grant(text, text)")
        op.execute("DROP FUNCTION IF EXISTS regie_agent_revoke(text)")
        everyone = ", ".join(ALL_GROUPS)
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {everyone}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {everyone}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {everyone}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {everyone}")
        op.execute(f"REVOKE ALL ON SCHEMA public FROM {everyone}")
        # The group roles are the cluster's (other regie databases may use them): kept.
    op.execute("DROP VIEW IF EXISTS child_medical_diet")
    op.execute("DELETE FROM agent WHERE role = 'portail'")
    _set_roles(ROLES_BEFORE)
    for table in ("document_type", "diet"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("health")
