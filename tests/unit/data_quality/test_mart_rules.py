"""Every relation a mart rule names is one dbt builds: a misspelt relation would make its
check vacuous (a missing ``rows_expected_from`` reads as empty, so ``min_rows`` never fires)."""

from data_quality.mart_rules import MART_RULES
from orchestration.assets.dbt import model_relations


def test_mart_rules_name_only_relations_dbt_builds() -> None:
    built = set(model_relations().values())
    named = {relation: {r for r in (rules.rows_expected_from,
                                    *(target for _, target, _ in rules.references)) if r}
             for relation, rules in MART_RULES.items()}
    assert set(named) <= built
    assert {relation: refs - built for relation, refs in named.items() if refs - built} == {}
