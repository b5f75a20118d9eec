"""UDF storage for reports (SPEC §9). Owned by the reports work."""
