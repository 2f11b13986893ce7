"""`regie db …`: the database's schema (Alembic migrations), before any agent exists."""

import typer

from regie_tui.cli.common import SchemaDbOption, database_url, french_errors, out

db_app = typer.Typer(help="Schéma de la base de données.")


@db_app.command("upgrade")
@french_errors
def db_upgrade(db: SchemaDbOption = None) -> None:
    """Crée ou met à jour le schéma (migrations Alembic)."""
    from regie_tui.db import make_engine, upgrade

    engine = make_engine(database_url(db), create=True)
    before, after = upgrade(engine)
    if before == after:
        out.print(f"Schéma déjà à jour (révision {after}).")
    elif before is None:
        out.print(f"Schéma créé (révision {after}).")
    else:
        out.print(f"Schéma mis à jour : révision {before} → {after}.")


@db_app.command("status")
@french_errors
def db_status(db: SchemaDbOption = None) -> None:
    """Affiche la révision du schéma de la base et celle attendue."""
    from regie_tui.db import current_revision, head_revision, make_engine

    engine = make_engine(database_url(db))
    out.print(f"Base : révision {current_revision(engine) or 'aucune'} ; regie-tui attend : {head_revision()}.")
