"""Pure policy rules (no database, no UI): limits, budgets, extension policy."""
