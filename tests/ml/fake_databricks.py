"""A fake Databricks workspace strict where the real one is: what the wheel's Databricks backend
meets on serverless compute, in Unity Catalog and in Model Serving.

Each rule names where Databricks states it:

- Spark properties: serverless accepts only six (Databricks, "Configure Spark properties for
  serverless notebooks and jobs",
  https://docs.databricks.com/aws/en/spark/conf#configure-spark-properties-for-serverless-notebooks-and-jobs);
  any other `spark.conf.set` raises `[CONFIG_NOT_AVAILABLE]`.
- Caching: `cache`, `persist` and friends are unsupported on serverless (Databricks, "Serverless
  compute limitations", https://docs.databricks.com/aws/en/compute/serverless/limitations).
- Unity Catalog's model registry: MLflow's own `databricks-uc` client over a fake of its REST
  endpoints (fake_uc_registry.py, on the loopback server of fake_workspace_server.py).
- Serving: the real databricks-sdk `ServingEndpointsAPI` runs against a fake REST layer; a PUT of
  the config while an update is in progress is a conflict (databricks/sdk/service/serving.py,
  `update_config`: "An endpoint that already has an update in progress can not be updated").
- Jobs: fake_jobs.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceConflict
from databricks.sdk.service.serving import ServingEndpointsAPI

SERVERLESS_SPARK_PROPERTIES = frozenset(
    {
        "spark.sql.shuffle.partitions",
        "spark.sql.session.timeZone",
        "spark.sql.ansi.enabled",
        "spark.sql.files.maxPartitionBytes",
        "spark.sql.legacy.timeParserPolicy",
        "spark.databricks.execution.timeout",
    }
)
_MICROS_FILTER = re.compile(r"(?P<column>\w+) (?P<op>>|<=) timestamp_micros\((?P<micros>\d+)\)")
_MAX_MICROS = re.compile(r"unix_micros\(max\((?P<column>\w+)\)\) AS (?P<alias>\w+)")
PROVISIONED_CONCURRENCY = frozenset({"min_provisioned_concurrency", "max_provisioned_concurrency"})


class SparkError(Exception):
    """What pyspark raises (AnalysisException and friends): the message starts with the error's
    condition in brackets, which `getCondition()` returns (pyspark/errors/exceptions/base.py,
    PySparkException; tests/ml/test_ml_spark.py checks the real ones)."""

    def getCondition(self) -> str | None:  # noqa: N802 - pyspark's name
        found = re.match(r"\[(\w+)\]", str(self))
        return found[1] if found else None


# --------------------------------------------------------------------------------------- Spark


class FakeConf:
    def __init__(self, serverless: bool) -> None:
        self._serverless = serverless
        self.values: dict[str, str] = {}

    def set(self, key: str, value: str) -> None:
        if self._serverless and key not in SERVERLESS_SPARK_PROPERTIES:
            raise SparkError(f"[CONFIG_NOT_AVAILABLE] Configuration {key} is not available.")
        self.values[key] = value


class FakeWriter:
    def __init__(self, frame: FakeFrame) -> None:
        self._frame = frame
        self._format = "delta"
        self.options: dict[str, str] = {}

    def format(self, name: str) -> FakeWriter:
        self._format = name
        return self

    def option(self, key: str, value: str) -> FakeWriter:
        self.options[key] = value
        return self

    def saveAsTable(self, table: str) -> None:  # noqa: N802 - pyspark's name
        spark = self._frame.sparkSession
        if table in spark.tables:
            raise SparkError(f"[TABLE_OR_VIEW_ALREADY_EXISTS] {table}")
        spark.tables[table] = self._frame.data.copy()
        spark.commit(table, "CREATE TABLE AS SELECT", self.options.get("userMetadata"))


class FakeFrame:
    """A DataFrame of a Spark Connect session: analysed when an action runs, so a frame of a
    missing table raises only then (`missing`)."""

    def __init__(self, spark: FakeSpark, data: pd.DataFrame | None, missing: str | None = None) -> None:
        self.sparkSession = spark
        self._data = None if data is None else data.reset_index(drop=True)
        self._missing = missing

    @property
    def data(self) -> pd.DataFrame:
        if self._data is None:
            raise SparkError(f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {self._missing} cannot be found.")
        return self._data

    def count(self) -> int:
        return len(self.data)

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 - pyspark's name
        return self.data.copy()

    def where(self, condition: str) -> FakeFrame:
        """Only the window the monitor reads (backends/databricks.py, `window_condition`), and the
        watermark bounds batch inference reads (backends/databricks_incremental.py)."""
        if _MICROS_FILTER.fullmatch(condition):
            return self._stamped(condition)
        window = _WINDOW.fullmatch(condition)
        if window is None:
            raise SparkError(f"the fake workspace does not filter on: {condition}")
        if self._data is None:  # lazy, as on Spark Connect: the action raises
            return self
        data = self._data
        when = pd.to_datetime(data[window["column"]], utc=True)
        start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
        return FakeFrame(self.sparkSession, data[(when >= start) & (when < end)])

    def select(self, *columns: str) -> FakeFrame:
        if self._data is None:
            return self
        return FakeFrame(self.sparkSession, self.data.loc[:, list(columns)])

    def limit(self, rows: int) -> FakeFrame:
        return FakeFrame(self.sparkSession, self.data.head(rows))

    @property
    def columns(self) -> list[str]:
        return list(self.data.columns)

    def _stamped(self, condition: str) -> FakeFrame:
        """A timestamp column against a microsecond literal."""
        match = _MICROS_FILTER.fullmatch(condition)
        assert match, f"the fake filters a column by timestamp_micros only: {condition}"
        column = pd.to_datetime(self.data[match["column"]], utc=True)
        bound = pd.Timestamp(int(match["micros"]), unit="us", tz="UTC")
        kept = column > bound if match["op"] == ">" else column <= bound
        return FakeFrame(self.sparkSession, self.data[kept.to_numpy()])

    def selectExpr(self, expression: str) -> FakeFrame:  # noqa: N802 - pyspark's name
        """The one aggregate the backend sends: the newest stamp in microseconds (NULL: no rows)."""
        match = _MAX_MICROS.fullmatch(expression)
        assert match, f"the fake selects unix_micros(max(column)) only: {expression}"
        column = pd.to_datetime(self.data[match["column"]], utc=True)
        newest = None if column.empty else (column.max() - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us")
        return FakeFrame(self.sparkSession, pd.DataFrame({match["alias"]: [newest]}, dtype=object))

    def collect(self) -> list[dict[str, Any]]:
        return self.data.to_dict("records")

    @property
    def write(self) -> FakeWriter:
        return FakeWriter(self)

    def createOrReplaceTempView(self, name: str) -> None:  # noqa: N802 - pyspark's name
        self.sparkSession.views[name] = self.data.copy()

    def _uncachable(self, *_: object) -> FakeFrame:
        if self.sparkSession.serverless:
            raise SparkError(
                "[NOT_SUPPORTED_WITH_SERVERLESS] PERSIST TABLE is not supported on serverless compute."
            )
        return self

    cache = persist = checkpoint = _uncachable


class FakeCatalog:
    def __init__(self, spark: FakeSpark) -> None:
        self._spark = spark

    def tableExists(self, table: str) -> bool:  # noqa: N802 - pyspark's name
        return table in self._spark.tables


_MERGE = re.compile(
    r"MERGE INTO (?P<table>\S+) AS target USING (?P<view>\S+) AS source ON (?P<on>.+?) "
    r"WHEN MATCHED THEN UPDATE SET \* WHEN NOT MATCHED THEN INSERT \*$"
)
_ON = re.compile(r"target\.(\w+) = source\.\1")
_DELETE = re.compile(r"DELETE FROM (?P<table>\S+) WHERE (?P<column>\w+) < DATE'(?P<day>\d{4}-\d{2}-\d{2})'$")
_WINDOW = re.compile(
    r"(?P<column>\w+) >= TIMESTAMP'(?P<start>[\d\- :]+Z)' AND (?P=column) < TIMESTAMP'(?P<end>[\d\- :]+Z)'"
)
_PROPERTIES = re.compile(r"ALTER TABLE (?P<table>\S+) SET TBLPROPERTIES \((?P<pairs>.*)\)$")
_PAIR = re.compile(r"'((?:[^'\\]|\\.)*)' = '((?:[^'\\]|\\.)*)'")


@dataclass
class FakeSpark:
    """The Spark Connect session of a serverless job: Delta tables as pandas frames."""

    serverless: bool = True
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    views: dict[str, pd.DataFrame] = field(default_factory=dict)
    properties: dict[str, dict[str, str]] = field(default_factory=dict)
    history: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.conf = FakeConf(self.serverless)
        self.catalog = FakeCatalog(self)

    def commit(self, table: str, operation: str, user_metadata: str | None) -> None:
        self.history.setdefault(table, []).append({"operation": operation, "userMetadata": user_metadata})

    def createDataFrame(self, data: pd.DataFrame) -> FakeFrame:  # noqa: N802 - pyspark's name
        return FakeFrame(self, data.copy())

    def table(self, name: str) -> FakeFrame:
        """Lazy, as on Spark Connect: a missing table raises at the first action."""
        return FakeFrame(self, self.tables.get(name), missing=name)

    def sql(self, statement: str) -> FakeFrame:
        if merge := _MERGE.match(statement):
            return self._merge(merge["table"], merge["view"], _ON.findall(merge["on"]))
        if delete := _DELETE.match(statement):
            return self._delete(delete["table"], delete["column"], date.fromisoformat(delete["day"]))
        if properties := _PROPERTIES.match(statement):
            table = properties["table"]
            if table not in self.tables:
                raise SparkError(f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {table} cannot be found.")
            self.properties.setdefault(table, {}).update(dict(_PAIR.findall(properties["pairs"])))
            self.commit(table, "SET TBLPROPERTIES", None)
            return FakeFrame(self, pd.DataFrame())
        raise SparkError(f"the fake workspace does not run this statement: {statement}")

    def _delete(self, table: str, column: str, before: date) -> FakeFrame:
        target = self.table(table).data
        doomed = target[column] < before
        self.tables[table] = target[~doomed].reset_index(drop=True)
        self.commit(table, "DELETE", None)
        return FakeFrame(self, pd.DataFrame([{"num_affected_rows": int(doomed.sum())}]))

    def _merge(self, table: str, view: str, keys: list[str]) -> FakeFrame:
        target, source = self.table(table).data, self.views[view]
        if list(target.columns) != list(source.columns):
            raise SparkError(
                f"[DELTA_SCHEMA_MISMATCH] {list(source.columns)} vs {list(target.columns)} in {table}"
            )
        matched = target.merge(source[keys], on=keys, how="left", indicator=True)["_merge"] == "both"
        updated = int(matched.sum())
        self.tables[table] = pd.concat([target[~matched.to_numpy()], source], ignore_index=True)
        self.commit(table, "MERGE", self.conf.values.get("spark.databricks.delta.commitInfo.userMetadata"))
        inserted = len(source) - updated
        metrics = {"num_affected_rows": len(source), "num_updated_rows": updated}
        return FakeFrame(
            self, pd.DataFrame([{**metrics, "num_deleted_rows": 0, "num_inserted_rows": inserted}])
        )


# ---------------------------------------------------------------------------------- Serving


@dataclass
class FakeServingRest:
    """The serving-endpoints REST API as the real SDK calls it (`api.do(method, path, ...)`)."""

    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls_until_done: int = 0  # GETs an update stays IN_PROGRESS for
    fail_next_update: bool = False
    puts: list[dict[str, Any]] = field(default_factory=list)
    _cfg: Any = field(default_factory=lambda: SimpleNamespace(workspace_id=None))

    def create(self, name: str, entity_name: str, version: str, **entity: Any) -> None:
        served = {"name": "champion", "entity_name": entity_name, "entity_version": version, **entity}
        routes = [{"served_entity_name": "champion", "traffic_percentage": 100}]
        self.endpoints[name] = {
            "name": name,
            "config": {"served_entities": [served], "traffic_config": {"routes": routes}},
            "state": {"config_update": "NOT_UPDATING", "ready": "READY"},
        }

    def start_update(self, name: str, version: str, polls: int) -> None:
        """An update someone else started (a previous deploy, `pulumi up`)."""
        endpoint = self.endpoints[name]
        entities = [{**e, "entity_version": version} for e in endpoint["config"]["served_entities"]]
        endpoint["pending_config"] = {"served_entities": entities}
        endpoint["state"]["config_update"] = "IN_PROGRESS"
        self.polls_until_done = polls

    def serves(self, name: str) -> str:
        return str(self.endpoints[name]["config"]["served_entities"][0]["entity_version"])

    def do(self, method: str, path: str, body: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        match = re.fullmatch(r"/api/2\.0/serving-endpoints/([^/]+)(/config)?", path)
        if match is None or match[1] not in self.endpoints:
            raise NotFound(f"{method} {path}: no such endpoint")
        endpoint = self.endpoints[match[1]]
        if method == "GET" and not match[2]:
            self._progress(endpoint)
            return endpoint
        if method == "PUT" and match[2] and body is not None:
            if endpoint["state"]["config_update"] == "IN_PROGRESS":
                raise ResourceConflict(f"endpoint {match[1]} has an update in progress")
            for entity in body["served_entities"]:
                given = {key for key, value in entity.items() if value is not None}
                if "workload_size" in given and given & PROVISIONED_CONCURRENCY:
                    # databricks-sdk ServedEntityInput: provisioned concurrency "Do not use if
                    # workload_size is specified".
                    raise InvalidParameterValue("workload_size and provisioned concurrency are exclusive")
            self.puts.append(dict(body))
            endpoint["pending_config"] = {"served_entities": body["served_entities"]}
            endpoint["state"]["config_update"] = "IN_PROGRESS"
            return endpoint
        raise NotFound(f"{method} {path}: not in the fake")

    def _progress(self, endpoint: dict[str, Any]) -> None:
        if endpoint["state"]["config_update"] != "IN_PROGRESS":
            return
        if self.polls_until_done > 0:
            self.polls_until_done -= 1
            return
        pending = endpoint.pop("pending_config")
        if self.fail_next_update:
            self.fail_next_update = False
            endpoint["state"]["config_update"] = "UPDATE_FAILED"
            return
        endpoint["config"]["served_entities"] = pending["served_entities"]
        endpoint["state"]["config_update"] = "NOT_UPDATING"


@dataclass
class FakeWorkspaceClient:
    rest: FakeServingRest

    @property
    def serving_endpoints(self) -> ServingEndpointsAPI:
        return ServingEndpointsAPI(self.rest)  # type: ignore[arg-type]
