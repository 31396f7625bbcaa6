"""Identity resolution: one stable, pseudonymised person (and household) behind every source
record, and what the probabilistic model learnt on this run."""

import math
from typing import Literal

import dagster as dg

from lakehouse.identity.resolve import DEFAULT_ENGINE, THRESHOLD
from lakehouse.identity.store import DESCRIPTIONS, TABLES, IdentityRun, resolve_home
from lakehouse.storage.paths import table_uri
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_step, gold_table_results
from orchestration.resources import LakehouseResource

PARAMETER_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("comparison", "string", description="Comparison (model feature)"),
    dg.TableColumn("level", "int", description="Level index within the comparison"),
    dg.TableColumn("label", "string", description="What the level means"),
    dg.TableColumn("m", "float", description="P(level | same person)"),
    dg.TableColumn("u", "float", description="P(level | different persons)"),
    dg.TableColumn("weight", "float", description="Match weight log2(m/u); empty: no estimate"),
])
BAR_CHARS_PER_BIT = 2  # the match-weight chart's scale
BAR_MAX_BITS = 16  # longer bars are cut here (and marked): a weight of -75 is "never"


class IdentityConfig(dg.Config):
    """The probabilistic matching engine: our own Fellegi-Sunter model or Splink's (DuckDB)."""

    engine: Literal["fellegi_sunter", "splink"] = DEFAULT_ENGINE


@gold_step("resolve_identity", "identity", {n: DESCRIPTIONS[n] for n in TABLES},
           deps=[silver_key("customer_records"), silver_key("identifier_observations")])
def identity_tables(context: dg.AssetExecutionContext, lakehouse: LakehouseResource,
                    config: IdentityConfig):
    home = lakehouse.paths
    run = resolve_home(home, engine=config.engine)
    context.log.info(f"{run.records} records -> {run.persons} persons in {run.households} "
                     f"households ({config.engine})")
    yield from gold_table_results(
        "identity", {name: table_uri(home, "gold", name) for name in TABLES},
        run_metadata(run, config.engine), run_id=context.run_id)


def run_metadata(run: IdentityRun, engine: str) -> dict:
    """What a run resolved and what its model learnt, as materialization metadata: numbers
    (plotted across materializations by Dagster), the model's parameters as a table, the
    match weights as a chart, truth scores when the home has truth, the full report as JSON."""
    model = run.report.get(engine) or {}
    metadata: dict = {
        "records": run.records,
        "persons": run.persons,
        "households": run.households,
        "history_events": run.history_events,
        "engine": engine,
    }
    households = run.report.get("households")
    if isinstance(households, dict):
        metadata.update({f"households_{k}": v for k, v in households.items()
                         if _number(v) and f"households_{k}" != "households_households"})
    threshold = model.get("threshold", THRESHOLD if engine == "fellegi_sunter" else None)
    for name, value in (("match_threshold", threshold),
                        ("expected_precision", model.get("expected_precision")),
                        ("expected_recall", model.get("expected_recall")),
                        ("labelled_pairs", model.get("labelled_pairs")),
                        ("match_prior", model.get("prior")),
                        ("pairs_linked", model.get("pairs_linked"))):
        if _number(value):
            metadata[name] = value
    rows = parameter_rows(model)
    if rows:
        metadata["model_parameters"] = dg.MetadataValue.table(
            [dg.TableRecord({k: r.get(k) for k in ("comparison", "level", "label", "m", "u",
                                                   "weight")}) for r in rows],
            schema=PARAMETER_SCHEMA)
        metadata["match_weight_chart"] = dg.MetadataValue.md(weight_chart(
            rows, threshold, model.get("prior"), model.get("m_from")))
    metadata.update({f"truth_{k}": v for k, v in (run.scores or {}).items() if _number(v)})
    metadata.update({f"truth_linkable_{k}": v
                     for k, v in (run.linkable_scores or {}).items() if _number(v)})
    metadata.update({f"truth_household_{k}": v
                     for k, v in (run.household_scores or {}).items() if _number(v)})
    metadata["resolution_report"] = dg.MetadataValue.json(_jsonable(run.report))
    return metadata


def parameter_rows(model: dict) -> list[dict]:
    """``comparison, level, label, m, u, weight`` per comparison level: the model's
    ``parameters``, else its ``weights`` per comparison (then without m and u)."""
    rows = model.get("parameters") or [
        {"comparison": c, "level": k, "label": f"level {k}", "m": None, "u": None, "weight": w}
        for c, ws in (model.get("weights") or {}).items() for k, w in enumerate(ws)]
    # an infinite weight (u = 0) or a missing estimate is shown as empty, not as a number
    return [{**r, **{k: r.get(k) if _number(r.get(k)) else None for k in ("m", "u", "weight")}}
            for r in rows]


def weight_chart(rows: list[dict], threshold: float | None = None,
                 prior: float | None = None, m_from: str | None = None) -> str:
    """The match weight of every comparison level as a markdown bar chart: ``█`` bars to the
    right for evidence of the same person, ``░`` bars to the left for evidence against, on a
    fixed scale (``BAR_CHARS_PER_BIT`` characters per bit, so runs compare at a glance); a
    weight beyond ``BAR_MAX_BITS`` is drawn at that length and marked ``▸`` or ``◂``."""
    lines = ["Match weight per comparison level: log2(m/u), the evidence a pair agreeing at "
             f"that level adds ({BAR_CHARS_PER_BIT} characters per bit; right: same person, "
             "left: different persons).", ""]
    facts = [f"match threshold {threshold:g}" if _number(threshold) else "",
             f"prior {prior:.3g}" if _number(prior) else "",
             f"m from {m_from}" if m_from else ""]
    if any(facts):
        lines += [", ".join(f for f in facts if f) + ".", ""]
    if not any(_number(r.get("weight")) for r in rows):
        lines += ["No level has both m and u estimated on this run (too few pairs to learn "
                  "from): no weights to draw.", ""]
    lines += ["| comparison | level | label | against | for | weight |",
              "| --- | ---: | --- | ---: | :--- | ---: |"]
    for r in rows:
        w = r.get("weight")
        against = for_ = ""
        shown = "n/a"
        if _number(w):
            shown = f"{w:+.2f}"
            length = max(1, round(min(abs(w), BAR_MAX_BITS) * BAR_CHARS_PER_BIT)) if w else 0
            if w < 0:
                against = ("◂" if abs(w) > BAR_MAX_BITS else "") + "░" * length
            else:
                for_ = "█" * length + ("▸" if w > BAR_MAX_BITS else "")
        label = str(r.get("label", "")).replace("|", "\\|")
        lines.append(f"| {r.get('comparison', '')} | {r.get('level', '')} | {label} | "
                     f"{against} | {for_} | {shown} |")
    return "\n".join(lines)


def _number(value) -> bool:
    """A finite int or float (not a bool): what numeric metadata and the chart can hold."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)
