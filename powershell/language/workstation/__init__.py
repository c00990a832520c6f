"""The workstation language subset of `pep run` / `pep connect` (evaluator, values, members, dates)."""
