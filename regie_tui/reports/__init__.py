"""Headless writers of the documents the régie prints or sends: PDF (ReportLab) and XML (SEPA)."""

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from regie_tui.errors import RegieError, system_error


def write_new_file(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Write a new file, never over an existing one: ``data``, or what ``data(file)`` writes.

    A French RegieError says why it could not be written (the screens and the CLI show it).
    """
    try:
        with path.open("xb") as file:
            if isinstance(data, bytes):
                file.write(data)
            else:
                data(file)
    except FileExistsError:
        raise RegieError(f"Le fichier « {path} » existe déjà : choisissez un autre nom.") from None
    except OSError as error:
        raise RegieError(f"Impossible d'écrire « {path} » : {system_error(error)}.") from None
