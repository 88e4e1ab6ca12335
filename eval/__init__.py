"""Development evaluation: ``python -m eval.run_eval`` (what ``make eval`` runs)."""
