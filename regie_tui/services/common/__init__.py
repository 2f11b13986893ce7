"""What every capability shares: the checks of typed values (validation), the régies
found by their code, and the typing helpers for queries (sql)."""
