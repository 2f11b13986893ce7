"""What the régie does, as plain functions on a Session. Never imports Textual."""
