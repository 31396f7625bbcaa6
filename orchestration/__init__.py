"""Dagster code location: wiring only. The domain lives in `lakehouse`."""
