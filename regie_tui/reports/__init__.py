"""Headless writers of the documents the régie prints or sends: PDF (ReportLab), later XML."""
