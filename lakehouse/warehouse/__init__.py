"""The analyst warehouse (DuckDB, built by dbt): the dbt-duckdb plugin that reads validated
Delta table versions into a build and registers the pseudonymisation function."""
