"""Raw source channels: the documented landing-file contract of every source system."""

from lakehouse.channels.spec import CHANNELS, Channel, Entity, Field, entity, entity_for_file

__all__ = ["CHANNELS", "Channel", "Entity", "Field", "entity", "entity_for_file"]
