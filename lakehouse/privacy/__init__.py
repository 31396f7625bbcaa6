"""Right to be forgotten: erase a person from every layer of a home (``erase``), resolved
from their identifiers (``resolve``), with an audit record free of personal data (``audit``)."""
