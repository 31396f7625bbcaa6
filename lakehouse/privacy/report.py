"""The erasure's text report for the CLI: counts per table, the audit id, the warning. It never
prints an identifier value, only counts (the person ids are printed: they are pseudonyms)."""

from __future__ import annotations

from lakehouse.privacy.audit import TIME_TRAVEL_WARNING, AuditRecord
from lakehouse.privacy.erase import Plan


def describe(plan: Plan, record: AuditRecord | None) -> str:
    done = record is not None
    lines = [f"erasure of {len(plan.persons)} person(s) "
             f"({', '.join(plan.persons) or 'none found in the identity map'})"
             + ("" if done else ": dry run, nothing changed")]
    rows = record.rows if done else plan.rows()
    if not rows:
        lines.append("  nothing of them found under the home")
    for name, n in sorted(rows.items()):
        lines.append(f"  {name:60s} {n:>8d} {'removed' if done else 'to remove'}")
    if done:
        if record.versions:
            lines.append(f"  history purged (vacuum, old commit logs) for "
                         f"{len(record.versions)} Delta table(s); their validated pins moved "
                         "to the erasure version")
        lines.append(f"audit id {record.erasure_id} (privacy/erasures.jsonl)")
    lines.append(f"warning: {TIME_TRAVEL_WARNING}")
    return "\n".join(lines)
