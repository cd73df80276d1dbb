"""dbt's run_results.json (with manifest.json for node metadata) as typed records.

Built on dbt-artifacts-parser's models, which validate each artifact against the JSON schema of
its `dbt_schema_version`: run_results v5/v6 and manifest v12, what dbt 1.8 to 1.11 write. A newer
version is read as the latest known one; an older one is refused. Row counts come from each
result's `adapter_response` (`rows_affected`, `rows_inserted`, `rows_updated`, `rows_deleted`,
`rows_total`): absent, null or negative counts are None, never 0 or -1, because "unknown" and
"nothing changed" must stay apart.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

COUNT_KEYS = ("rows_affected", "rows_inserted", "rows_updated", "rows_deleted", "rows_total")
# dbt_project.yml's names for the half-open window of landing batch dates a run loads.
WINDOW_START_VAR = "window_start"
WINDOW_END_VAR = "window_end"
# The models of the schema versions Strata reads, by artifact and version number. Only
# these are imported: dbt-artifacts-parser's own entry point imports every version of every
# artifact, 0.74 s of CPU that each build paid while dbt ran beside it; these take 0.26 s.
SCHEMA_MODELS = {
    "run-results": {
        5: ("dbt_artifacts_parser.parsers.run_results.run_results_v5", "RunResultsV5"),
        6: ("dbt_artifacts_parser.parsers.run_results.run_results_v6", "RunResultsV6"),
    },
    "manifest": {
        12: ("dbt_artifacts_parser.parsers.manifest.manifest_v12", "ManifestV12"),
    },
}
# A schema's extra key makes the generated models refuse the whole file; a dbt patch release
# adding a field must not cost the history, so such keys are dropped a few rounds at most.
MAX_EXTRA_KEY_ROUNDS = 5


class ArtifactError(Exception):
    """A dbt artifact is missing, unreadable, truncated or not the artifact it should be.

    Callers in the build catch this one class: observability must never fail a run that
    otherwise succeeded.
    """

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str
    # table, incremental, view, seed, snapshot, test, ... (None for nodes missing from the manifest)
    materialization: str | None
    layer: str | None
    status: str
    thread_id: str
    compile_started_at: dt.datetime | None
    compile_completed_at: dt.datetime | None
    execute_started_at: dt.datetime | None
    execute_completed_at: dt.datetime | None
    execution_time: float
    rows_affected: int | None
    rows_inserted: int | None
    rows_updated: int | None
    rows_deleted: int | None
    rows_total: int | None
    failures: int | None
    message: str | None
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvocationRecord:
    invocation_id: str
    command: str | None
    invocation_command: str | None
    target: str | None
    dbt_version: str | None
    schema_version: str
    started_at: dt.datetime
    generated_at: dt.datetime | None
    elapsed_time: float
    full_refresh: bool
    window_start: str | None
    window_end: str | None
    nodes: tuple[NodeResult, ...]

    @property
    def partition(self) -> str:
        """The window as one label: "2024-01-01..2024-01-03" (end exclusive) or "all"."""
        if self.window_start is None and self.window_end is None:
            return "all"
        return f"{self.window_start or ''}..{self.window_end or ''}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ArtifactError(path, "file not found (did dbt run with this target directory?)") from None
    except OSError as error:
        raise ArtifactError(path, f"cannot be read: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArtifactError(path, f"not valid JSON (truncated or corrupt?): {error}") from None
    if not isinstance(data, dict):
        raise ArtifactError(path, "not a dbt artifact (the top level is not an object)")
    return data


def _schema_version(path: Path, data: Mapping[str, Any]) -> str:
    metadata = data.get("metadata")
    version = metadata.get("dbt_schema_version") if isinstance(metadata, Mapping) else None
    if not isinstance(version, str):
        raise ArtifactError(path, "not a dbt artifact (no metadata.dbt_schema_version)")
    return version


def _drop_extra_keys(data: dict[str, Any], error: ValidationError) -> bool:
    """Remove the keys the schema does not know; False when the error is about anything else.

    Where the schema has a union (a manifest node is one of seed, model, test, ...), pydantic
    reports every member's errors, each under the member's name in the error's location. The
    node's own member is the one whose only complaints are unknown keys, the fewest of them; the
    other members' errors (a wrong resource_type) are not the file's fault and are set aside.
    """
    plain: list[list[Any]] = []
    by_union: dict[tuple, dict[str, list[tuple[str, list[Any]]]]] = {}
    for problem in error.errors():
        path, site, member = _resolve(data, problem["loc"])
        if site is None:
            if problem["type"] != "extra_forbidden":
                return False
            plain.append(path)
        else:
            by_union.setdefault(site, {}).setdefault(member, []).append((problem["type"], path))
    for members in by_union.values():
        fitting = [found for found in members.values() if all(kind == "extra_forbidden" for kind, _ in found)]
        if not fitting:
            return False
        # Two members may both take the node once keys are dropped (a generic test also fits the
        # singular test's schema without its column_name): the one that drops fewest is its own.
        plain += [path for _, path in min(fitting, key=len)]
    if not plain:
        return False
    for *parents, key in plain:
        container: Any = data
        for part in parents:
            container = container[part]
        if isinstance(container, dict):
            container.pop(key, None)
    return True


def _resolve(data: Any, location: tuple) -> tuple[list[Any], tuple | None, str | None]:
    """The error's location as a path into the data, and the first union member named on the way
    (the path to the union, and the member's name), if any."""
    path: list[Any] = []
    site: tuple | None = None
    member: str | None = None
    container = data
    for part in location:
        in_dict = isinstance(container, dict) and part in container
        in_list = isinstance(container, list) and isinstance(part, int) and part < len(container)
        if in_dict or in_list:
            container = container[part]
            path.append(part)
        elif site is None:
            site, member = tuple(path), str(part)
    return path, site, member


def _summary(error: ValidationError, shown: int = 5) -> str:
    """The first few problems: a node that fits no schema makes pydantic list every member's."""
    problems = error.errors()
    lines = [f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in problems[:shown]]
    more = f" (and {len(problems) - shown} more)" if len(problems) > shown else ""
    return "; ".join(lines) + more


def schema_model(kind: str, version: str) -> type:
    """The model class for an artifact's dbt_schema_version; a newer version than Strata knows gets
    the latest model (dbt adds fields more often than it removes them)."""
    models = SCHEMA_MODELS[kind]
    match = re.search(rf"/{re.escape(kind)}/v(\d+)\.json$", version)
    number = int(match.group(1)) if match else None
    if number is None or number < min(models):
        known = ", ".join(f"v{known}" for known in models)
        raise ValueError(f"Strata reads {kind} {known} (dbt 1.8 and later)")
    module, name = models[min(number, max(models))]
    return getattr(importlib.import_module(module), name)


def _parse(path: Path, kind: str) -> Any:
    data = _read_json(path)
    version = _schema_version(path, data)
    if f"/{kind}/" not in version:
        raise ArtifactError(path, f"not a dbt {kind}.json (its dbt_schema_version is {version})")
    try:
        model = schema_model(kind, version)
    except ValueError as error:
        raise ArtifactError(path, f"unsupported {kind} schema {version}: {error}") from None
    for _ in range(MAX_EXTRA_KEY_ROUNDS):
        try:
            return model(**data)
        except ValidationError as error:
            if not _drop_extra_keys(data, error):
                raise ArtifactError(path, f"does not match the {kind} schema {version}: {_summary(error)}") from None
    raise ArtifactError(path, f"does not match the {kind} schema {version}")


def _timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def response_count(response: Mapping[str, Any], key: str) -> int | None:
    """A row count from an adapter_response, or None when it is unknown."""
    value = response.get(key)
    # bool is an int to Python; -1 is how some adapters say "unknown"; dbt's events carry
    # numbers through protobuf, as floats.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _vars(args: Mapping[str, Any]) -> dict[str, Any]:
    raw = args.get("vars") or {}
    if isinstance(raw, str):
        # `--vars` as typed on the command line: YAML (JSON is a subset).
        try:
            raw = yaml.safe_load(raw) or {}
        except yaml.YAMLError:
            return {}
    return dict(raw) if isinstance(raw, Mapping) else {}


def _node_metadata(manifest: Any) -> dict[str, dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    for unique_id, node in {**(manifest.nodes or {}), **(getattr(manifest, "unit_tests", None) or {})}.items():
        config = getattr(node, "config", None)
        meta = {**(getattr(node, "meta", None) or {}), **(getattr(config, "meta", None) or {})}
        depends_on = getattr(node, "depends_on", None)
        resource_type = getattr(node, "resource_type", None)
        nodes[unique_id] = {
            "name": node.name,
            "resource_type": getattr(resource_type, "value", resource_type),
            "materialization": getattr(config, "materialized", None),
            "layer": meta.get("layer") or getattr(node, "schema_", None),
            "depends_on": tuple(getattr(depends_on, "nodes", None) or ()),
        }
    # A test's schema is dbt's audit schema, not a layer: it belongs to the layer it tests.
    for node in nodes.values():
        if node["resource_type"] in ("test", "unit_test"):
            parents = [nodes[parent]["layer"] for parent in node["depends_on"] if parent in nodes]
            node["layer"] = parents[0] if parents else node["layer"]
    return nodes


def import_models_in_background() -> None:
    """Start importing the latest schema models on a thread of its own. A dbt step calls this while
    dbt runs (the step mostly waits for dbt's output then), so recording the invocation once dbt
    exits does not wait for the import; parse_invocation's own import joins one still in progress."""

    def import_latest() -> None:
        for models in SCHEMA_MODELS.values():
            importlib.import_module(models[max(models)][0])

    threading.Thread(target=import_latest, name="import-artifact-models", daemon=True).start()


def parse_invocation(run_results_path: Path, manifest_path: Path) -> InvocationRecord:
    """The invocation and each of its node results; ArtifactError names the file at fault."""
    # The models are imported on first use (schema_model): the Dagster definitions import this
    # module, and loading the definitions would pay for them for nothing.
    run_results = _parse(run_results_path, "run-results")
    manifest = _parse(manifest_path, "manifest")
    metadata = _node_metadata(manifest)
    args = run_results.args or {}
    window = _vars(args)
    nodes = []
    for result in run_results.results:
        timing = {item.name: item for item in result.timing}
        compile_step, execute_step = timing.get("compile"), timing.get("execute")
        response = result.adapter_response or {}
        node = metadata.get(result.unique_id, {})
        nodes.append(
            NodeResult(
                unique_id=result.unique_id,
                name=node.get("name") or result.unique_id.rsplit(".", 1)[-1],
                resource_type=node.get("resource_type") or result.unique_id.split(".", 1)[0],
                materialization=node.get("materialization"),
                layer=node.get("layer"),
                status=result.status.value,
                thread_id=result.thread_id,
                compile_started_at=_timestamp(compile_step.started_at) if compile_step else None,
                compile_completed_at=_timestamp(compile_step.completed_at) if compile_step else None,
                execute_started_at=_timestamp(execute_step.started_at) if execute_step else None,
                execute_completed_at=_timestamp(execute_step.completed_at) if execute_step else None,
                execution_time=result.execution_time,
                **{key: response_count(response, key) for key in COUNT_KEYS},
                failures=result.failures,
                message=result.message,
                depends_on=node.get("depends_on", ()),
            )
        )
    generated_at = _timestamp(run_results.metadata.generated_at)
    # invocation_started_at arrived with run_results v6; v5 files have only generated_at.
    started_at = _timestamp(getattr(run_results.metadata, "invocation_started_at", None))
    if started_at is None:
        starts = [moment for node in nodes for moment in (node.compile_started_at, node.execute_started_at) if moment]
        if starts:
            started_at = min(starts)
        elif generated_at is not None:
            started_at = generated_at - dt.timedelta(seconds=run_results.elapsed_time)
        else:
            raise ArtifactError(run_results_path, "no time to date the invocation by (no generated_at, no timing)")
    invocation_id = run_results.metadata.invocation_id
    if not invocation_id:
        raise ArtifactError(run_results_path, "no metadata.invocation_id")
    return InvocationRecord(
        invocation_id=invocation_id,
        command=args.get("which"),
        invocation_command=args.get("invocation_command"),
        target=args.get("target"),
        dbt_version=run_results.metadata.dbt_version,
        schema_version=run_results.metadata.dbt_schema_version,
        started_at=started_at,
        generated_at=generated_at,
        elapsed_time=run_results.elapsed_time,
        full_refresh=bool(args.get("full_refresh")),
        window_start=_text(window.get(WINDOW_START_VAR)),
        window_end=_text(window.get(WINDOW_END_VAR)),
        nodes=tuple(nodes),
    )


def _text(value: Any) -> str | None:
    # YAML turns an unquoted 2024-01-01 into a date; the history keeps ISO text either way.
    return None if value is None else (value.isoformat() if isinstance(value, dt.date) else str(value))


def parse_target_dir(target_dir: Path) -> InvocationRecord:
    return parse_invocation(target_dir / "run_results.json", target_dir / "manifest.json")
