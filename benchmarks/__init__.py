"""`make bench` = `python -m benchmarks`: every `benchmarks/*_bench.py` on SQLite, then PostgreSQL.

A benchmark module defines `run()`, called with Django set up on a fresh database whose tables
exist (see __main__.py). It prints its own figures and targets; nothing is asserted.
"""
