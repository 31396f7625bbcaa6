"""ML products: the feature marts (every customer and product as of now), the customer
segments built on them and the recommendations, each from validated table versions."""

import dagster as dg

from data_quality.ml_suites import ml_suites
from lakehouse.ml import MARTS, publish_feature_marts
from lakehouse.ml.inputs import TABLES
from lakehouse.storage.delta import read_table
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_table_results, gold_table_specs, one_registry_commit
from orchestration.metadata import markdown_table
from orchestration.resources import LakehouseResource

DESCRIPTIONS = {
    "ml_customer_features": "One row per person as of the run: recency, frequency, monetary "
    "value, channel mix, category affinities, return propensity, recent activity, e-mail "
    "engagement. The same definition as `lakehouse.ml.training_set('customer')`.",
    "ml_product_features": "One row per product as of the run: sales velocity, stock and days "
    "of cover, return rate, review sentiment, price and active promotion. The same definition "
    "as `lakehouse.ml.training_set('product')`.",
}


def _input_keys() -> list[dg.AssetKey]:
    """The asset of each table the feature SQL reads (silver, identity, inventory)."""
    produced = {key.path[-1]: key for key in [*identity_tables.keys, *inventory_tables.keys]}
    keys = []
    for table in TABLES.values():
        layer, name = table.split("/")
        keys.append(silver_key(name) if layer == "silver" else produced[name])
    return keys


# the marts follow their inputs: a micro-batch that moved silver, or an identity or inventory
# build launched from the UI, refreshes them (recent-activity features stay recent between
# nightly runs); one run at a time, and the UI says why a mart is stale or was requested
AUTOMATION_SENSOR = "ml_automation"
SPECS, CHECKS = gold_table_specs("ml", DESCRIPTIONS, deps=_input_keys())
SPECS = [spec.replace_attributes(automation_condition=dg.AutomationCondition.eager())
         for spec in SPECS]


@dg.multi_asset(specs=SPECS, check_specs=CHECKS, name="ml_feature_marts", can_subset=False)
@one_registry_commit
def ml_feature_marts(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """Publishes both marts; each reads only the validated versions of its inputs."""
    home = lakehouse.paths
    done = publish_feature_marts(home)
    for mart in MARTS:
        context.log.info(f"{mart}: {done[mart]['rows']} rows in {done[mart]['seconds']}s")
    read = {table: version for mart in MARTS
            for table, version in done[mart]["read_versions"].items()}
    yield from gold_table_results(
        "ml", {mart: done[mart]["uri"] for mart in MARTS},
        {"as_of": done["as_of"], "input_versions": dg.MetadataValue.json(read)},
        run_id=context.run_id, suites=ml_suites())


ml_automation = dg.AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR, target=[ml_feature_marts], default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Refreshes the ML feature marts when one of their validated inputs changed "
    "since they were last built (a micro-batch, a build launched from the UI); the nightly "
    "job builds them in the same run.")


SEGMENT_DESCRIPTIONS = {
    "customer_segment_profiles": "One row per behaviour cluster of the customer feature mart: "
    "size, a name derived from its profile relative to the population, a description and the "
    "mean features that set it apart.",
    "customer_segments": "One row per person: RFM scores (1-5 among buyers, 0 never bought) and "
    "the classic RFM segment, and the person's behaviour cluster with its name.",
}
SEGMENT_SPECS, SEGMENT_CHECKS = gold_table_specs(
    "ml", SEGMENT_DESCRIPTIONS, deps=[dg.AssetKey(["ml", "ml_customer_features"])])


@dg.multi_asset(specs=SEGMENT_SPECS, check_specs=SEGMENT_CHECKS, name="customer_segments",
                can_subset=False)
@one_registry_commit
def customer_segments(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """RFM and k-means segments of the validated customer feature mart."""
    from lakehouse.segments import publish_segments  # scipy: only in the step that runs it

    done = publish_segments(lakehouse.paths)
    context.log.info(f"segments: k={done['k']} (silhouette {done['silhouette']}), "
                     f"{done['customer_segments']['rows']} persons in {done['seconds']}s")
    profiles = read_table(done["customer_segment_profiles"]["uri"])
    sizes = {f"persons_{row['cluster_name']}": row["persons"]
             for row in profiles.iter_rows(named=True)}
    yield from gold_table_results(
        "ml", {name: done[name]["uri"] for name in SEGMENT_DESCRIPTIONS},
        {"k": done["k"], "silhouette": done["silhouette"], "as_of": done["as_of"],
         "silhouette_by_k": dg.MetadataValue.json({str(k): v for k, v in
                                                   done["silhouettes"].items()}),
         "clusters": markdown_table(profiles.select(
             "cluster", "cluster_name", "persons", "share", "description")),
         **sizes},
        run_id=context.run_id, suites=ml_suites())


REC_DESCRIPTIONS = {
    "ml_recommendations": "Top products per person and channel (web, app, the person's home "
    "store) from purchase, cart and browsing signals, re-ranked by what the channel can deliver "
    "now (available to promise, fulfilment cost and days to the person's zone) and by product "
    "quality; nothing the channel cannot sell is listed. `lakehouse.ml.recommend(person_id, "
    "channel, n)` answers the same live.",
}
_GOLD = {key.path[-1]: key for key in [*identity_tables.keys, *inventory_tables.keys]}
REC_SPECS, REC_CHECKS = gold_table_specs(
    "ml", REC_DESCRIPTIONS,
    deps=[*(silver_key(n) for n in ("orders", "order_lines", "pos_transaction_lines",
                                    "clickstream_events", "products", "reviews", "returns",
                                    "shipments")),
          *(_GOLD[n] for n in ("identity_map", "customer_profiles",
                               "inventory_channel_availability",
                               "inventory_fulfilment_options"))])


@dg.multi_asset(specs=REC_SPECS, check_specs=REC_CHECKS, name="recommendations",
                can_subset=False)
@one_registry_commit
def recommendations(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """The nightly recommendation lists, from validated signals and stock."""
    from lakehouse.recommend import publish_recommendations  # only in the step that runs it

    done = publish_recommendations(lakehouse.paths)
    context.log.info(f"recommendations: {done['rows']} rows for {done['persons']} persons "
                     f"({done['model']}) in {done['seconds']}s")
    yield from gold_table_results(
        "ml", {"ml_recommendations": done["uri"]},
        {"persons": done["persons"], "model": done["model"], "as_of": done["as_of"],
         "seconds": done["seconds"]},
        run_id=context.run_id, suites=ml_suites())
