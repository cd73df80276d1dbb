"""The project's conventions, checked on dbt's artifacts: documentation, key tests, names, layers.

Reads `manifest.json` (from `dbt parse`) and, when given, `catalog.json` (from `dbt docs generate`
on a warehouse built empty). The manifest knows only the columns a YAML file declares; the catalog
adds every column a model really has, and its type, so an undeclared column counts as
undocumented and the naming contract can check types. docs/checks.md describes every rule.

    python -m orchestration.conventions TARGET_DIR [--catalog]

Prints coverage figures, then every violation with the file to fix; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orchestration.settings import PROJECT_DIR

LAYER_PREFIXES = {
    "raw": ("raw_",),
    "conformed": ("cnf_",),
    "reference": ("ref_",),
    "modeled": ("dim_", "fct_"),
}
# Layers whose every column, declared or not, must carry a description (the analyst-facing ones
# and the ones that define the conformed vocabulary). raw keeps the producer's columns as text.
FULLY_DOCUMENTED_LAYERS = ("conformed", "modeled")
# raw keeps the producer's column names; the naming contract starts where our names start.
NAMED_LAYERS = ("conformed", "reference", "modeled")

# Last word(s) of a currency-unit amount (a decimal with two places).
MONEY_ENDINGS = ("subtotal", "total", "tax_paid", "cost", "price", "revenue", "margin", "spend", "pretax")
# Integer columns say what they count or measure.
INTEGER_PREFIXES = ("count_", "calendar_", "iso_", "day_of_")
INTEGER_SUFFIXES = ("_cents", "_seconds", "_number", "_order")
# Validity bounds of a type-2 history are named as in every SCD2 table, and are timestamps.
SCD2_BOUNDS = ("valid_from", "valid_to")
INTEGER_TYPES = ("tinyint", "smallint", "integer", "int", "bigint", "hugeint", "ubigint", "uinteger")
TEXT_TYPES = ("varchar", "text", "string")


class ConventionsError(Exception):
    """The artifacts cannot be read: a missing or malformed file."""


@dataclass
class Coverage:
    done: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.done += ok
        self.total += 1

    def line(self, label: str) -> str:
        percent = 100.0 * self.done / self.total if self.total else 100.0
        return f"  {label:<46} {self.done:>4}/{self.total:<4} {percent:5.1f}%"

    @property
    def complete(self) -> bool:
        return self.done == self.total


@dataclass
class Report:
    described: Coverage = field(default_factory=Coverage)
    columns: Coverage = field(default_factory=Coverage)
    keyed: Coverage = field(default_factory=Coverage)
    keyless: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and all(c.complete for c in (self.described, self.columns, self.keyed))

    def render(self) -> str:
        lines = [
            "coverage:",
            self.described.line("models with a description"),
            self.columns.line(f"columns documented ({', '.join(FULLY_DOCUMENTED_LAYERS)})"),
            self.keyed.line("models with a tested primary key (or keyless)"),
        ]
        if self.keyless:
            lines.append(f"  declared keyless (meta.keyless): {', '.join(sorted(self.keyless))}")
        if self.violations:
            lines.append(f"{len(self.violations)} convention violation(s):")
            lines += [f"  {violation}" for violation in sorted(self.violations)]
        else:
            lines.append("conventions: ok")
        return "\n".join(lines)


def load_json(path: Path, hint: str) -> dict:
    if not path.is_file():
        raise ConventionsError(f"{path} not found ({hint})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConventionsError(f"{path} is not valid JSON: {error}") from None


def allowed_upstream_layers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """The layer rule, from the one place it is written: var `layer_rules` in dbt_project.yml,
    which the on-run-start hook (macros/enforce_layer_rules.sql) reads too."""
    project_file = project_dir / "dbt_project.yml"
    rules = (yaml.safe_load(project_file.read_text()).get("vars") or {}).get("layer_rules")
    if not isinstance(rules, dict):
        raise ConventionsError(f"{project_file}: vars.layer_rules is missing or not a mapping")
    return rules


def layer_of(node: dict) -> str:
    if node["resource_type"] == "seed":
        return "reference"
    if node["resource_type"] == "source":
        return "source"
    return node["fqn"][1] if len(node["fqn"]) > 2 else "none"


def base_type(data_type: str | None) -> str | None:
    return data_type.lower().split("(")[0].strip() if data_type else None


def decimal_scale(data_type: str) -> int | None:
    match = re.fullmatch(r"(?:decimal|numeric)\s*\(\s*\d+\s*,\s*(\d+)\s*\)", data_type.lower())
    return int(match.group(1)) if match else None


def column_name_problems(name: str, data_type: str | None) -> list[str]:
    """What breaks the naming contract (docs/checks.md) for one column; the type is None when
    neither the YAML nor a catalog gives it, and then only the name-only rules apply."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return ["is not lower snake_case"]
    if name.startswith("delivered_"):
        # The delivered text of a typed column, kept for the quarantine: not a typed value.
        kind = base_type(data_type)
        return [] if kind in (None, *TEXT_TYPES) else [f"is a delivered_ value but has type {data_type}"]
    kind = base_type(data_type)
    if kind is None:
        return []
    is_boolean = name.startswith(("is_", "has_"))
    is_timestamp = name.endswith("_at") or name in SCD2_BOUNDS
    rules = [
        (kind == "boolean", is_boolean, "booleans start with is_ or has_"),
        (kind.startswith("timestamp"), is_timestamp, "timestamps end in _at"),
        (kind == "date", name.endswith("_date"), "dates end in _date"),
    ]
    problems = [f"({data_type}): {text}" for typed, named, text in rules if typed != named]
    if name.endswith("_id") and kind not in TEXT_TYPES:
        problems.append(f"({data_type}): _id keys are text")
    if (name.endswith("_cents") or name.startswith("count_")) and kind not in INTEGER_TYPES:
        problems.append(f"({data_type}): counts and cents are integers")
    if kind in INTEGER_TYPES and not (name.startswith(INTEGER_PREFIXES) or name.endswith(INTEGER_SUFFIXES)):
        problems.append(
            f"({data_type}): an integer starts with {'/'.join(INTEGER_PREFIXES)} "
            f"or ends with {'/'.join(INTEGER_SUFFIXES)}"
        )
    if kind in ("decimal", "numeric"):
        if name.endswith("_rate"):
            pass
        elif decimal_scale(data_type) == 2:
            if not name.endswith(MONEY_ENDINGS):
                problems.append(f"({data_type}): a money amount ends with one of {', '.join(MONEY_ENDINGS)}")
        else:
            problems.append(f"({data_type}): a decimal is a money amount (2 places) or a _rate")
    return problems


def not_null_enforced_columns(model: dict) -> set[str]:
    """Columns the warehouse keeps non-null: a not_null or primary_key constraint of an enforced
    contract (dbt applies constraints only then)."""
    if not (model["config"].get("contract") or {}).get("enforced"):
        return set()
    columns = {
        column_name.lower()
        for column_name, column in model["columns"].items()
        for constraint in column.get("constraints") or []
        if constraint.get("type") in ("not_null", "primary_key")
    }
    for constraint in model.get("constraints") or []:
        if constraint.get("type") == "primary_key":
            columns.update(column_name.lower() for column_name in constraint.get("columns") or [])
    return columns


def key_columns(model: dict, tests: Iterable[dict]) -> set[str]:
    """Columns tested unique and either tested not_null or kept non-null by a constraint."""
    by_kind: dict[str, set[str]] = {"unique": set(), "not_null": set()}
    for test in tests:
        meta = test.get("test_metadata") or {}
        if test.get("attached_node") == model["unique_id"] and meta.get("name") in by_kind and test.get("column_name"):
            by_kind[meta["name"]].add(test["column_name"].lower())
    return by_kind["unique"] & (by_kind["not_null"] | not_null_enforced_columns(model))


def check(manifest: dict, catalog: dict | None, layer_rules: dict[str, list[str]], project: str) -> Report:
    report = Report()
    nodes = manifest["nodes"]
    tests = [node for node in nodes.values() if node["resource_type"] == "test"]
    models = [node for node in nodes.values() if node["resource_type"] == "model" and node["package_name"] == project]
    for model in sorted(models, key=lambda node: node["name"]):
        name, layer = model["name"], layer_of(model)
        # The YAML file that documents the model, else its SQL file (a model with no YAML yet).
        where = (model.get("patch_path") or "").split("://")[-1] or model["original_file_path"]
        sql = model["original_file_path"]

        report.described.add(bool(model["description"].strip()))
        if not model["description"].strip():
            report.violations.append(f"{where}: model {name} has no description")

        prefixes = LAYER_PREFIXES.get(layer)
        if prefixes is None:
            report.violations.append(f"{sql}: model {name} is in no layer folder ({', '.join(LAYER_PREFIXES)})")
        elif not name.startswith(prefixes):
            report.violations.append(f"{sql}: {layer} model {name} must start with {' or '.join(prefixes)}")

        keyless = (model["config"].get("meta") or {}).get("keyless")
        if keyless:
            report.keyless.append(name)
            report.keyed.add(True)
        else:
            has_key = bool(key_columns(model, tests))
            report.keyed.add(has_key)
            if not has_key:
                report.violations.append(
                    f"{where}: model {name} has no tested primary key (a unique test and a not_null test or "
                    "constraint on one column), nor meta.keyless saying why its grain has no key"
                )

        declared = {column_name.lower(): column for column_name, column in model["columns"].items()}
        real = (catalog or {}).get("nodes", {}).get(model["unique_id"], {}).get("columns")
        types = {column_name.lower(): column.get("data_type") for column_name, column in declared.items()}
        if real is not None:
            types.update({column_name.lower(): column["type"] for column_name, column in real.items()})
        for column_name, data_type in sorted(types.items()):
            if layer in FULLY_DOCUMENTED_LAYERS:
                described = bool((declared.get(column_name) or {}).get("description", "").strip())
                report.columns.add(described)
                if not described:
                    report.violations.append(f"{where}: column {name}.{column_name} has no description")
            if layer in NAMED_LAYERS:
                for problem in column_name_problems(column_name, data_type):
                    report.violations.append(f"{where}: column {name}.{column_name} {problem}")

        allowed = layer_rules.get(layer, [])
        for upstream_id in model["depends_on"]["nodes"]:
            upstream = manifest["sources"].get(upstream_id) or nodes.get(upstream_id)
            if upstream is None or upstream["resource_type"] not in ("model", "seed", "source", "snapshot"):
                continue
            if layer_of(upstream) not in allowed:
                report.violations.append(
                    f"{sql}: {layer} model {name} reads {layer_of(upstream)} {upstream['name']}; "
                    f"{layer} may read only {', '.join(allowed)}"
                )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.conventions", description=__doc__.split("\n")[0])
    parser.add_argument("target", type=Path, help="dbt target directory holding manifest.json")
    parser.add_argument(
        "--catalog", action="store_true", help="also read catalog.json there: every real column and its type"
    )
    args = parser.parse_args(argv)
    try:
        manifest = load_json(args.target / "manifest.json", "run `dbt parse` with this target path first")
        catalog = load_json(args.target / "catalog.json", "run `dbt docs generate` first") if args.catalog else None
        report = check(manifest, catalog, allowed_upstream_layers(), manifest["metadata"].get("project_name", "strata"))
    except ConventionsError as error:
        print(f"conventions: error: {error}", file=sys.stderr)
        return 2
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
