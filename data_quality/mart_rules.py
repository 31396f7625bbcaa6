"""What each warehouse relation promises beyond its columns: keys, required columns, value
ranges, vocabularies and references to dims (``schema.table`` -> rules). Relations without an
entry still get the generic suite: no raw PII in any string column, no future timestamps."""

from data_quality.suites import MartRules

MART_RULES: dict[str, MartRules] = {
    "main.dim_dates": MartRules(key=("date_day",), min_rows=1),
}
