"""Errors whose message is written for the agent, in French, and the wording of the others.

The app, its screens and the CLI all turn a failure into the one French line the agent
reads through :func:`error_message`. This module sits on the start-up path: it imports
neither SQLAlchemy nor a driver (an error of theirs can only exist once they are loaded).
"""

from __future__ import annotations

import errno
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine.url import URL


class RegieError(Exception):
    """An expected failure: its message is shown as is, without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseError(RegieError):
    """The database cannot be used: unreachable, not ours, or not at our schema."""


class AccessDenied(RegieError):
    """The login is not an agent of this régie, or lacks the role for the action."""


class NotFound(RegieError):
    """The record asked for does not exist (or no longer does)."""


def shown_url(url: URL) -> str:
    """The database's address as the agent may read it: the password hidden."""
    return url.render_as_string(hide_password=True)


def explain_connection_error(exc: BaseException, url: URL) -> DatabaseError:
    """Turn a driver error into a French message naming the database (password hidden)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).lower()
    where = shown_url(url)
    if "password authentication failed" in text or "authentification par mot de passe" in text:
        return DatabaseError(f"Connexion refusée à {where} : identifiant ou mot de passe incorrect.")
    if "peer authentication failed" in text:
        return DatabaseError(
            f"Connexion refusée à {where} : PostgreSQL ne reconnaît pas votre compte système comme ce rôle "
            "(authentification peer). Connectez-vous sous votre propre compte, ou voyez pg_ident.conf avec "
            "l'administrateur de la base."
        )
    role = re.search(r'role "([^"]+)" does not exist', str(original))
    if role:
        return DatabaseError(
            f"Le rôle PostgreSQL « {role.group(1)} » n'existe pas sur {where} : un administrateur l'ajoute "
            f"avec : regie agent add {role.group(1)} --role accueil"
        )
    if "permission denied" in text:
        return DatabaseError(
            f"Votre rôle PostgreSQL n'a aucun droit sur {where} : agent désactivé, ou pas encore ajouté "
            "(regie agent add, par un administrateur)."
        )
    if "readonly database" in text:
        return DatabaseError(
            f"La base « {url.database} » est en lecture seule pour votre compte : rien n'a été enregistré."
        )
    if "does not exist" in text and "database" in text:
        return DatabaseError(f"La base « {url.database} » n'existe pas sur le serveur ({where}).")
    if "file is not a database" in text or "file is encrypted" in text:
        return DatabaseError(f"Le fichier « {url.database} » n'est pas une base de données regie-tui.")
    if "unable to open database file" in text:
        return DatabaseError(f"Impossible d'ouvrir le fichier de base « {url.database} » (droits, dossier ?).")
    unreachable = ("connection refused", "could not translate host", "timeout", "no route", "is the server running")
    if any(sign in text for sign in unreachable):
        return DatabaseError(
            f"Impossible de joindre le serveur de base de données {where} : "
            "vérifiez l'adresse et que le serveur est démarré."
        )
    return DatabaseError(f"Base de données inutilisable ({where}) : {original}")


#: Another desk holds the SQLite database's write lock, or PostgreSQL broke a deadlock between
#: two desks by aborting this one: this write was given up whole.
BUSY = "Un autre poste enregistre sur cette base en ce moment : rien n'a été enregistré, réessayez."


#: What the system says of a file or folder, in French (its own words are English).
_SYSTEM_ERRORS = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EACCES: "accès refusé",
    errno.EPERM: "accès refusé",
    errno.ENAMETOOLONG: "nom trop long",
    errno.EEXIST: "il existe déjà",
    errno.EIO: "erreur de lecture ou d'écriture du disque",
    errno.ENOSPC: "plus de place sur le disque",
    errno.EDQUOT: "quota de disque dépassé",
    errno.EROFS: "disque en lecture seule",
    errno.ELOOP: "trop de liens symboliques",
    errno.EINVAL: "chemin invalide",
    errno.EFBIG: "fichier trop gros",
}


def system_error(error: OSError) -> str:
    """Why a file could not be read or written, in French (« accès refusé »…)."""
    return _SYSTEM_ERRORS.get(error.errno or 0, f"erreur système n° {error.errno}" if error.errno else "erreur système")


#: SQLSTATE of "insufficient privilege": PostgreSQL refused this agent's role (its grants,
#: row-level security, or a trigger of migration 0007 enforcing the role matrix).
INSUFFICIENT_PRIVILEGE = "42501"


def refused_by_database(error: BaseException) -> str | None:
    """The French line for a write or read PostgreSQL refused to the agent's role; None otherwise."""
    original = getattr(error, "orig", None)
    if getattr(original, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
        return None
    server = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return (
        "La base de données refuse cette opération à votre compte (droits de votre rôle) : rien n'a été "
        f"enregistré. ({server})"
    )


def error_message(error: BaseException, url: URL | None = None) -> str:
    """The French line to show for ``error``, raised while working on the database at ``url``."""
    if isinstance(error, RegieError):
        return error.message
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    refused = refused_by_database(error)
    if refused is not None:
        return refused
    if sqlalchemy_errors is not None and isinstance(error, sqlalchemy_errors.OperationalError):
        if any(sign in str(error) for sign in ("database is locked", "deadlock detected")):
            return BUSY
        if url is not None:
            return explain_connection_error(error, url).message
    return f"Erreur inattendue : {error}"
