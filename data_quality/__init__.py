"""Great Expectations suites, one per asset, kept as code, and the gate that runs them.

Importing this package is cheap: GX (about 8 s and 270 MB) loads only when a gate runs.
"""

from data_quality.gate import validate_table
from data_quality.results import GateResult, Outcome
from data_quality.suites import Expect, Suite, bronze_suite, bronze_suites

__all__ = [
    "Expect",
    "GateResult",
    "Outcome",
    "Suite",
    "bronze_suite",
    "bronze_suites",
    "validate_table",
]
