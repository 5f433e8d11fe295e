"""The plans PostgreSQL keeps for the prepared statements, and what in them reads a table whole:
for the tests that pin a statement's cost to what it touches, not to the agency's size."""

from __future__ import annotations

import json
from typing import Any

from saas.db import connection

WATCHED = ("campaigns_campaign", "campaigns_spendtotal")


def generic_plan(statement: str, params: list[str], values: list[Any]) -> dict[str, Any]:
    """The plan PostgreSQL keeps for `statement` prepared (every connection forces generic
    plans), its placeholders `params` in order, run with `values`."""
    for number, param in enumerate(params, 1):
        statement = statement.replace(param, f"${number}")
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE plan_probe AS {statement}")
        try:
            literals = ", ".join(["%s"] * len(values))
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE plan_probe({literals})", values)
            plan = cursor.fetchone()[0]
        finally:
            cursor.execute("DEALLOCATE plan_probe")
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def whole_reads(node: dict[str, Any]) -> list[str]:
    """The plan's reads of a watched table that are not by an index condition: a sequential
    scan, or an index walked from end to end."""
    found = []
    table = node.get("Relation Name")
    index = node.get("Index Name", "")
    if table in WATCHED and node["Node Type"] == "Seq Scan":
        found.append(f"Seq Scan on {table}")
    elif (index.startswith(WATCHED) or table in WATCHED) and index and "Index Cond" not in node:
        found.append(f"{node['Node Type']} of {index} without a condition")
    for child in node.get("Plans", []):
        found += whole_reads(child)
    return found
