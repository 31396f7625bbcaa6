"""What the columns of the gold identity tables hold that the dbt sources
(``dbt_project/models/staging/gold/_gold__sources.yml``: ``identity_map``,
``customer_profiles``) do not document: the person-id history and the erasure suppression list
(``lakehouse.identity.store``, ``lakehouse.identity.stability``).
"""

from __future__ import annotations

# table -> column -> description
COLUMNS: dict[str, dict[str, str]] = {
    "person_id_history": {
        "person_id": "Person id the event is about: the new id, the survivor of a merge or "
        "the id a split-off part got.",
        "event": "new (a person first resolved, or not seen before), merge (other_ids now "
        "resolve into this person, which keeps its id) or split (records of other_ids no "
        "longer resolve together; this part got its own id).",
        "other_ids": "Person ids the event involves: the ids absorbed by a merge, the id(s) a "
        "split part came from; empty for new. An erased person's id is removed from it.",
        "at": "Time of the identity run that recorded the event (UTC).",
        "reason": "The event in words.",
    },
    "identity_erasures": {
        "source": "Identity source of the erased record (shop_customer, shop_guest, loyalty, "
        "web, app, pos, email, reviews).",
        "identifier_hash": "Keyed hash of the erased record: the record id's pseudonym (HMAC-"
        "SHA256, as in identity_map), or for a full erasure a suppression hash of source and "
        "record id that matches nothing else in gold. Every later run drops the record.",
        "erased_at": "When the person was erased (UTC).",
    },
}
