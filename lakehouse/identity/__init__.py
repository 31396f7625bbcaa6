"""Identity resolution: one stable person behind every login, e-mail, card, device and visit.

Plain Python over polars frames, no Dagster: ``resolve(records)`` returns the identity map,
``resolve_full`` adds the id history and a report, ``evaluate`` scores a map against truth,
``customer_profiles`` builds the pseudonymised unified profile.
"""

from lakehouse.identity.evaluate import evaluate
from lakehouse.identity.pii import MissingKeyError, load_key, pseudonymise
from lakehouse.identity.profiles import customer_profiles, identity_map
from lakehouse.identity.resolve import THRESHOLD, Resolution, resolve, resolve_full

__all__ = ["THRESHOLD", "MissingKeyError", "Resolution", "customer_profiles", "evaluate",
           "identity_map", "load_key", "pseudonymise", "resolve", "resolve_full"]
