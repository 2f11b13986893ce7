"""The RGPD export's folder: the JSON, the PDF and the documents' files, written without
overwriting and readable by the agent's account only (the export carries health data)."""

import json
import shutil
from datetime import datetime
from pathlib import Path

from regie_tui.errors import RegieError
from regie_tui.reports import write_new_file
from regie_tui.reports.rgpd_pdf import rgpd_pdf
from regie_tui.services.families.rgpd_export import FamilyExport


def export_json(export: FamilyExport) -> bytes:
    """The export's JSON: keys sorted (stable), UTF-8, indented."""
    return (json.dumps(export.data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


#: Health data on a shared server: the export is readable by the agent's account only.
PRIVATE_FOLDER, PRIVATE_FILE = 0o700, 0o600


def write_family_export(export: FamilyExport, directory: Path, *, printed_at: datetime) -> list[Path]:
    """Write the export into ``directory`` (created if need be): its JSON, its PDF and the
    documents' files. Refused in French if the folder already holds this family's export;
    nothing is left behind when a write fails. The folders it creates and the files it writes
    are the agent's only (0700, 0600): the export carries health data. Returns the paths written."""
    names = export.names
    targets = [directory / names.json, directory / names.pdf, directory / names.documents]
    there = [p.name for p in targets if p.exists()]
    if there:
        raise RegieError(
            f"Le dossier « {directory} » contient déjà l'export RGPD de la famille n° {export.family_id} "
            f"({', '.join(there)}) : choisissez un autre dossier."
        )
    contents = [
        (directory / names.json, export_json(export)),
        (directory / names.pdf, rgpd_pdf(export, printed_at=printed_at)),
    ]
    contents += [(directory / f.path, f.content) for f in export.files]
    made: list[Path] = []
    try:
        directory.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        if export.files:
            (directory / names.documents).mkdir(mode=PRIVATE_FOLDER)
            made.append(directory / names.documents)
        for path, content in contents:
            write_new_file(path, b"")  # created empty, closed to others, then filled
            made.append(path)
            path.chmod(PRIVATE_FILE)
            path.write_bytes(content)
    except OSError as error:
        _remove(made)
        raise RegieError(f"Impossible d'écrire dans « {directory} » : {error.strerror or error}.") from None
    except BaseException:
        _remove(made)
        raise
    return [p for p in made if p.is_file()]


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
