"""Raw source channels: the documented landing-file contract of every source system.

The types (``spec.py``), the contracts of the channels that carry shoppers
(``customer_facing.py``) and of the back office (``back_office.py``), the table of channels
with its lookups (``registry.py``), and the README table generated from it (``docs.py``).
"""

from lakehouse.channels.registry import CHANNELS, NESTED, entity, entity_for_file
from lakehouse.channels.spec import PII_FIELDS, Channel, Entity, Field

__all__ = ["CHANNELS", "NESTED", "PII_FIELDS", "Channel", "Entity", "Field", "entity",
           "entity_for_file"]
