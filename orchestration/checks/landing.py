"""The landing gate: every landed file decodes, has its format's shape and a sane size.

One check per landing channel, evaluated in one step (one pass over the landing zone). Failed
files make it fail with ERROR severity, which blocks bronze in the same run; files whose name
matches no pattern of the channel spec only warn (ingestion quarantines them, nothing is lost).
"""

from collections.abc import Iterator

import dagster as dg

from data_quality.landing_files import MAX_BYTES, FileFinding, inspect_channel
from lakehouse.channels import CHANNELS
from orchestration.resources import LakehouseResource

CHECK_NAME = "landing_files_gate"
_BY_KEY = {dg.AssetKey(["landing", ch.name]): ch for ch in CHANNELS}
_LISTED = 50  # failing files listed in the metadata table (all are counted)


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| file | reason |", "| --- | --- |"]
    lines += [f"| `{f}` | {reason.replace('|', '/')} |" for f, reason in rows[:_LISTED]]
    if len(rows) > _LISTED:
        lines.append(f"| ... | {len(rows) - _LISTED} more |")
    return "\n".join(lines)


def gate_result(key: dg.AssetKey, findings: list[FileFinding]) -> dg.AssetCheckResult:
    failed = [f for f in findings if f.entity is not None and f.problems]
    unrecognised = [f.relpath for f in findings if f.entity is None]
    if failed:
        severity = dg.AssetCheckSeverity.ERROR
        description = (f"{len(failed)} of {len(findings)} landed file(s) cannot be ingested as "
                       f"a whole, e.g. {failed[0].relpath}: {failed[0].problems[0]}")
    elif unrecognised:
        severity = dg.AssetCheckSeverity.WARN
        description = (f"{len(unrecognised)} file(s) match no file pattern of the channel spec "
                       f"and will only reach quarantine, e.g. {unrecognised[0]}")
    else:
        severity = dg.AssetCheckSeverity.ERROR
        description = f"{len(findings)} landed file(s): all decodable, shaped and sized"
    rows = [(f.relpath, "; ".join(f.problems)) for f in failed]
    rows += [(path, "matches no file pattern of the channel spec (warning)")
             for path in unrecognised]
    return dg.AssetCheckResult(
        asset_key=key, check_name=CHECK_NAME, passed=not failed and not unrecognised,
        severity=severity, description=description[:1000],
        metadata={
            "files_checked": len(findings),
            "files_failed": len(failed),
            "files_unrecognised": len(unrecognised),
            "bytes_checked": sum(f.size for f in findings),
            "failed_files": [f.relpath for f in failed][:_LISTED],
            "unrecognised_files": unrecognised[:_LISTED],
            "findings": dg.MetadataValue.md(_table(rows) if rows else "every file passed"),
            "size_limits_bytes": dg.MetadataValue.json(MAX_BYTES),
        },
    )


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(
        CHECK_NAME, asset=key, blocking=True,
        description="Every landed file of the channel is non-empty, below its size limit, "
        "UTF-8, and shaped as its format (JSON lines: the first lines parse as objects; JSON "
        "document: parses; CSV: the entity's header). Fails (blocking) naming each file and "
        "why; files matching no pattern only warn.")
        for key in _BY_KEY],
    can_subset=True,
    name="landing_files_gate",
)
def landing_files_gate(context: dg.AssetCheckExecutionContext,
                       lakehouse: LakehouseResource) -> Iterator[dg.AssetCheckResult]:
    landing = lakehouse.paths.landing
    for check_key in sorted(context.selected_asset_check_keys,
                            key=lambda k: k.asset_key.to_user_string()):
        channel = _BY_KEY[check_key.asset_key]
        yield gate_result(check_key.asset_key, inspect_channel(landing, channel))
