"""Record builders per landing channel: turn world facts into each source's own format."""
