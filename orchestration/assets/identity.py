"""Identity resolution: one stable, pseudonymised person behind every source record."""

from typing import Literal

import dagster as dg

from lakehouse.identity.resolve import DEFAULT_ENGINE
from lakehouse.identity.store import TABLES, resolve_home
from lakehouse.storage.paths import table_uri
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_table_results, gold_table_specs, one_registry_commit
from orchestration.resources import LakehouseResource

DESCRIPTIONS = {
    "identity_map": "Every source record and each strong identifier it carries (as HMAC "
    "hashes) to its person id, with the rule or comparison that linked it.",
    "customer_profiles": "One row per person: best name, e-mails, phones and address as keyed "
    "hashes, city/postcode/state, first and last seen, sources, devices.",
    "person_id_history": "Appended per run: new, merged and split person ids, when and why.",
}


SPECS, CHECKS = gold_table_specs("identity", {n: DESCRIPTIONS[n] for n in TABLES},
                                 deps=[silver_key("customer_records"),
                                       silver_key("identifier_observations")])


class IdentityConfig(dg.Config):
    """The probabilistic matching engine: our own Fellegi-Sunter model or Splink's (DuckDB)."""

    engine: Literal["fellegi_sunter", "splink"] = DEFAULT_ENGINE


@dg.multi_asset(
    specs=SPECS,
    check_specs=CHECKS,
    name="resolve_identity",
    can_subset=False,
)
@one_registry_commit
def identity_tables(context: dg.AssetExecutionContext, lakehouse: LakehouseResource,
                    config: IdentityConfig):
    home = lakehouse.paths
    run = resolve_home(home, engine=config.engine)
    context.log.info(f"{run.records} records -> {run.persons} persons ({config.engine})")
    report = {
        "records": run.records,
        "persons": run.persons,
        "history_events": run.history_events,
        "engine": config.engine,
        **{f"truth_{k}": v for k, v in (run.scores or {}).items()},
        "resolution_report": dg.MetadataValue.json(_jsonable(run.report)),
    }
    yield from gold_table_results(
        "identity", {name: table_uri(home, "gold", name) for name in TABLES}, report,
        run_id=context.run_id)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)
