"""Goal on the 20,000-family town: ≥ 200 invoice PDFs a second for a month, and our path ≥ 0.7 of raw ReportLab.

The month: the largest service (pop) and its latest billed month (18,000+ invoices).
Prints, each on a whole month written to a temporary folder (one file per invoice):

- our path, one process: ``month_documents`` (reading the month) + ``write_invoice_files``;
- our path, two processes (what ``regie invoices pdf --month`` does on a big month);
- the same invoices in one file (``--single``);
- raw ReportLab: a loop that only replays the same strings at the same places (setFont,
  drawString, drawRightString, showPage, save) on a canvas with the same font, per file,
  with nothing else: no database, no layout, no wrapping, no rules or colours;

then the ratio ours (one process) / raw (one process). The database is only read.
Usage: python benchmarks/invoice_pdf.py [sqlite-url] [--limit N]
"""

import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui.db import current_revision, head_revision, make_engine
from regie_tui.models import Invoice, Regie
from regie_tui.reports import invoice_pdf
from regie_tui.reports.invoice_pdf import register_fonts, write_invoice_files, write_month_pdf
from regie_tui.services.billing.document import InvoiceDocument, month_documents

from _common import HERE, large_town_url

SERVICE = "pop"
REPLAYED = {"setFont", "drawString", "drawRightString", "showPage", "setLineWidth"}  # (line width: the bold look)
Op = tuple[str, tuple[Any, ...], dict[str, Any]]


class Recorder:
    """Stands for a canvas: keeps the text calls, ignores the rest (rules, colours, rectangles)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            if name in REPLAYED:
                self.ops.append((name, args, kwargs))

        return record


def recorded_ops(doc: InvoiceDocument) -> list[Op]:
    recorder = Recorder()
    invoice_pdf._draw_invoice(recorder, doc)
    return recorder.ops


def raw_reportlab(ops_per_doc: list[list[Op]], folder: Path) -> None:
    for index, ops in enumerate(ops_per_doc):
        with open(folder / f"raw-{index}.pdf", "xb") as file:
            c = Canvas(file, pagesize=A4, pageCompression=1)
            for name, args, kwargs in ops:
                getattr(c, name)(*args, **kwargs)
            invoice_pdf._save(c)


def database_url(argv: list[str]) -> str:
    urls = [a for a in argv if a.startswith(("sqlite:", "postgresql"))]
    if urls:
        return urls[0]
    for path in (HERE / "out" / "large.db", HERE / "out" / "large-0006.db"):
        if path.exists():
            engine = make_engine(f"sqlite:///{path}")
            try:
                if current_revision(engine) == head_revision():
                    return f"sqlite:///{path}"
            finally:
                engine.dispose()
    url = large_town_url()
    engine = make_engine(url)
    try:
        if current_revision(engine) != head_revision():
            sys.exit(
                f"{url} is at schema {current_revision(engine)}, not {head_revision()}: rebuild it (seed_large.py)."
            )
    finally:
        engine.dispose()
    return url


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:7.1f} PDFs/s ({count} in {seconds:.1f} s)"


def main() -> None:
    argv = sys.argv[1:]
    limit = int(argv[argv.index("--limit") + 1]) if "--limit" in argv else None
    url = database_url(argv)
    engine = make_engine(url)
    register_fonts()
    try:
        with Session(engine) as db:
            month = db.exec(
                select(func.max(Invoice.period_start))
                .join(Regie, col(Regie.id) == Invoice.regie_id)
                .where(Regie.code == SERVICE)
            ).one()
            assert isinstance(month, date)
            start = time.perf_counter()
            docs = month_documents(db, regie_code=SERVICE, month=month)
            read = time.perf_counter() - start
    finally:
        engine.dispose()
    if limit:
        docs = docs[:limit]
    lines = sum(len(doc.lines) for doc in docs)
    print(f"{url}: service {SERVICE}, {month:%m/%Y}: {len(docs)} invoices, {lines} lines")
    print(f"month_documents: {read:.2f} s ({len(docs) / read:.0f} invoices/s)")

    with tempfile.TemporaryDirectory(prefix="invoice-bench-") as tmp:
        root = Path(tmp)
        results: dict[str, float] = {}
        for processes in (1, 2):
            folder = root / f"ours-{processes}"
            folder.mkdir()
            start = time.perf_counter()
            write_invoice_files(docs, folder, processes=processes)
            results[f"ours-{processes}"] = read + time.perf_counter() - start
        buffer = io.BytesIO()
        start = time.perf_counter()
        write_month_pdf(docs, buffer)
        results["single"] = read + time.perf_counter() - start

        ops = [recorded_ops(doc) for doc in docs]  # prepared outside the timing
        folder = root / "raw"
        folder.mkdir()
        start = time.perf_counter()
        raw_reportlab(ops, folder)
        results["raw"] = time.perf_counter() - start

    n = len(docs)
    print(f"ours, 1 process (read + write, one file each): {rate(n, results['ours-1'])}")
    print(f"ours, 2 processes (read + write, one file each): {rate(n, results['ours-2'])}")
    print(f"ours, one file for the month ({len(buffer.getvalue()) // 1024} ko): {rate(n, results['single'])}")
    print(f"raw ReportLab, same strings, 1 process:       {rate(n, results['raw'])}")
    print(f"ratio ours / raw (1 process each): {results['raw'] / results['ours-1']:.2f} (goal ≥ 0.7)")
    best = max(n / results["ours-1"], n / results["ours-2"])
    print(f"best rate: {best:.0f} PDFs/s (goal ≥ 200)")


if __name__ == "__main__":
    main()
