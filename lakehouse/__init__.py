"""E-commerce lakehouse: the domain code, importable and testable without Dagster."""

__version__ = "0.1.0"
