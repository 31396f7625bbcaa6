"""ML products: the feature marts (every customer and product as of now), the customer
segments built on them and the recommendations, each from validated table versions."""

import dagster as dg

from data_quality.ml_suites import ml_suites
from lakehouse.ml import MARTS, publish_feature_marts
from lakehouse.ml.inputs import TABLES
from lakehouse.ml.marts import DESCRIPTIONS
from lakehouse.recommend.publish import DESCRIPTIONS as REC_DESCRIPTIONS
from lakehouse.segments.tables import DESCRIPTIONS as SEGMENT_DESCRIPTIONS
from lakehouse.storage.delta import read_table
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_step, gold_table_results
from orchestration.metadata import markdown_table
from orchestration.resources import LakehouseResource


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


@gold_step("ml_feature_marts", "ml", DESCRIPTIONS, deps=_input_keys(),
           automation_condition=dg.AutomationCondition.eager())
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


@gold_step("customer_segments", "ml", SEGMENT_DESCRIPTIONS,
           deps=[dg.AssetKey(["ml", "ml_customer_features"])])
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


_GOLD = {key.path[-1]: key for key in [*identity_tables.keys, *inventory_tables.keys]}
REC_INPUTS = [
    *(silver_key(n) for n in ("orders", "order_lines", "pos_transaction_lines",
                              "clickstream_events", "products", "reviews", "returns",
                              "shipments")),
    *(_GOLD[n] for n in ("identity_map", "customer_profiles", "inventory_channel_availability",
                         "inventory_fulfilment_options"))]


@gold_step("recommendations", "ml", REC_DESCRIPTIONS, deps=REC_INPUTS)
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
