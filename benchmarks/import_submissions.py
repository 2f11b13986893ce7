"""Goal: `regie inbox import` checks and stores ≥ 1,000 submissions a second.

Writes 10,000 valid lines of every kind for families of the 20,000-family town, imports
them into a copy of that town (the original is left untouched) and prints lines/second.
Usage: python benchmarks/import_submissions.py [PATH-OF-LARGE-TOWN.db] [--lines N]
(default: benchmarks/out/large.db, seeded by seed_large.py if it is not there yet).
"""

import argparse
import base64
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from regie_tui.clock import PARIS
from regie_tui.db import make_engine
from regie_tui.models import (
    Child,
    DocumentScope,
    DocumentType,
    Enrollment,
    EnrollmentStatus,
    Guardian,
    Invoice,
    PortalAccount,
    Unit,
)
from regie_tui.services.common.sql import id_col
from regie_tui.services.portal.intake.run import import_submissions

from _common import LARGE_DB, large_town_url

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=PARIS)  # the large town's "today" (seed_large.py)
SUBMITTED = "2026-11-23T{:02d}:{:02d}:00+01:00"
KINDS = ("change", "new_child", "enrolment", "booking", "document", "message", "payment", "login")


def copy_town(source: Path, folder: Path) -> Path:
    target = folder / "import-bench.db"
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def write_lines(url: str, count: int, rng: random.Random) -> bytes:
    """``count`` valid lines, kinds in turn, for families picked at random."""
    engine = make_engine(url)
    with Session(engine) as db:
        accounts = db.exec(select(PortalAccount.family_id, PortalAccount.email)).all()
        families = dict(rng.sample(accounts, min(count, len(accounts))))
        ids = list(families)
        guardians = {
            f: g for g, f in db.exec(select(Guardian.id, Guardian.family_id).where(col(Guardian.family_id).in_(ids)))
        }
        children: dict[int, int] = {}
        for c, f in db.exec(select(id_col(Child.id), Child.family_id).where(col(Child.family_id).in_(ids))):
            children.setdefault(f, c)
        enrolled = db.exec(
            select(Child.family_id, Enrollment.child_id, Enrollment.activity_id, Enrollment.age_group_id)
            .join(Child, col(Child.id) == col(Enrollment.child_id))
            .where(col(Child.family_id).in_(ids), Enrollment.status == EnrollmentStatus.ACCEPTED)
        ).all()
        enrollments = {f: (c, a, g) for f, c, a, g in enrolled}
        units = {a: u for u, a in db.exec(select(Unit.id, Unit.activity_id))}
        invoices = {
            f: n for n, f in db.exec(select(Invoice.number, Invoice.family_id).where(col(Invoice.family_id).in_(ids)))
        }
        doc_type = db.exec(select(DocumentType.id).where(DocumentType.scope == DocumentScope.FAMILY)).first()
    engine.dispose()

    lines = []
    for n in range(count):
        family = ids[n % len(ids)]
        line = {
            "id": f"bench-{n:06d}",
            "family": family,
            "account": families[family],
            "submitted_at": SUBMITTED.format(8 + n % 9, n % 60),
        }
        kind = KINDS[n % len(KINDS)]
        if kind == "change" and family in guardians:
            line |= {"entity": "guardian", "entity_id": guardians[family], "field": "mobile_phone"}
            line |= {"old": "", "new": f"06 {rng.randint(10, 99)} 22 33 44"}
        elif kind == "new_child":
            line |= {"first_name": "Léa", "last_name": "Martin", "birth_date": "2019-03-02", "sex": "F"}
        elif kind == "enrolment" and family in enrollments:
            _, activity, group = enrollments[family]
            line |= {"child": enrollments[family][0], "activity": activity, "age_group": group}
        elif kind == "booking" and family in enrollments:
            child, activity, _ = enrollments[family]
            days = [f"2027-01-{d:02d}" for d in (4, 5, 7, 8, 11)]
            line |= {"child": child, "cells": [{"day": d, "unit": units[activity], "action": "book"} for d in days]}
        elif kind == "document" and doc_type is not None:
            content = b"%PDF-1.4\n" + rng.randbytes(2048)
            line |= {"document_type": doc_type, "filename": "attestation.pdf", "media_type": "application/pdf"}
            line |= {"content_base64": base64.b64encode(content).decode()}
        elif kind == "payment" and family in invoices:
            line |= {"invoice": invoices[family], "amount_cents": 4520, "paid_at": line["submitted_at"]}
            line |= {"reference": f"PAYFIP-{n}", "result": "success" if n % 3 else "refused"}
        elif kind == "message":
            line |= {"subject": "Absence", "body": "Bonjour, notre enfant sera absent mercredi. Merci."}
        else:
            kind = "login"
        lines.append(json.dumps({"kind": kind, **line}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=LARGE_DB)
    parser.add_argument("--lines", type=int, default=10_000)
    args = parser.parse_args()
    large_town_url(args.path)  # seeds it first if missing

    with tempfile.TemporaryDirectory(prefix="regie-import-bench-") as folder:
        copy = copy_town(args.path, Path(folder))
        url = f"sqlite:///{copy}"
        data = write_lines(url, args.lines, random.Random(1))
        engine = make_engine(url)
        started = time.perf_counter()
        with Session(engine) as db:
            summary = import_submissions(db, data=data, filename="bench.jsonl", agent=None, now=NOW)
            db.commit()
        elapsed = time.perf_counter() - started
        engine.dispose()

    print(f"fichier            : {len(data) / 2**20:.1f} Mio, {summary.read} lignes")
    print(f"enregistrées       : {summary.stored}, déjà reçues : {summary.known}, rejetées : {len(summary.rejected)}")
    for rejection in summary.rejected[:5]:
        print(f"  ligne {rejection.line} : {rejection.reason}")
    print(f"durée de l'import  : {elapsed:.2f} s (commit compris)")
    print(f"débit              : {summary.read / elapsed:,.0f} lignes/s (objectif ≥ 1 000)".replace(",", " "))
    return 0 if not summary.rejected else 1


if __name__ == "__main__":
    sys.exit(main())
