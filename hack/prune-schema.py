#!/usr/bin/env python3
"""Prune an OVSDB schema to the tables and columns vtepgw uses.

Usage: prune-schema.py SCHEMA 'Table:col,col' ... > OUT

The result is a valid schema with the same name and version, so modelgen can
generate models that work against every server that has at least these columns.
"""
import json
import sys

src = json.load(open(sys.argv[1]))
keep = {}
for spec in sys.argv[2:]:
    table, _, cols = spec.partition(":")
    keep[table] = [c for c in cols.split(",") if c]
out = {"name": src["name"], "version": src["version"], "tables": {}}
for table, cols in keep.items():
    t = src["tables"][table]
    nt = {k: v for k, v in t.items() if k not in ("columns", "indexes")}
    nt["columns"] = {c: t["columns"][c] for c in cols}
    idx = [i for i in t.get("indexes", []) if all(c in cols for c in i)]
    if idx:
        nt["indexes"] = idx
    out["tables"][table] = nt
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
