"""Silver: conformed, deduplicated, product-mapped tables and identity inputs, built from bronze
one batch at a time (or rebuilt whole), exactly once per batch."""

from lakehouse.silver.build import build_silver
from lakehouse.silver.results import SilverResult, TableResult
from lakehouse.silver.tables import LAYOUTS

__all__ = ["LAYOUTS", "SilverResult", "TableResult", "build_silver"]
