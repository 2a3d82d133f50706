"""`make bootstrap` and the Databricks account: who may run it, and what a person is left to run.

The admin check is the real databricks-sdk (azure-cli auth) with only the wire faked: a loopback
account API and a stand-in `az` on PATH answering `az account get-access-token` as
databricks-sdk-py's AzureCliTokenSource reads it (credentials_provider.py).
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_support import ANSWERS

from bootstrap import cli
from bootstrap.account_admin import AccountAccess, account_access
from core.environment import Environment
from stacks.offline import OfflineRun

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "00000000-0000-4000-8000-00000000acc0"
METASTORE = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def account_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """A loopback account API answering the metastore list with the status in the list it yields."""
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == f"/api/2.0/accounts/{ACCOUNT}/metastores":
                code = status[0]
                body = (
                    {"metastores": [{"metastore_id": METASTORE, "region": "westeurope"}]}
                    if code == 200
                    else {"error_code": "PERMISSION_DENIED", "message": "not an account admin"}
                )
            else:  # /aad/auth, host metadata: not this account API's
                code, body = 404, {}
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    claims = base64.urlsafe_b64encode(json.dumps({"upn": "op@example.com"}).encode()).decode().rstrip("=")
    token = {
        "accessToken": f"e30.{claims}.sig",
        "tokenType": "Bearer",
        "expiresOn": "2999-01-01 00:00:00.000000",
    }
    account = {"user": {"type": "user", "name": "op@example.com"}}
    az = tmp_path / "bin" / "az"
    az.parent.mkdir()
    az.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"print({json.dumps(json.dumps(account))} if sys.argv[1:3] == ['account', 'show'] "
        f"else {json.dumps(json.dumps(token))})\n"
    )
    az.chmod(0o755)
    monkeypatch.setenv("PATH", f"{az.parent}:/usr/bin:/bin")
    for name in [n for n in __import__("os").environ if n.startswith(("DATABRICKS_", "ARM_", "AZURE_"))]:
        monkeypatch.delenv(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", status
    finally:
        server.shutdown()
        server.server_close()


def test_an_account_admin_is_told_apart_by_one_read_of_the_account_api(
    account_api: tuple[str, list[int]],
) -> None:
    host, status = account_api
    assert account_access(ACCOUNT, "westeurope", host=host) == AccountAccess(
        admin=True, metastore_id=METASTORE
    )
    status[0] = 403
    refused = account_access(ACCOUNT, "westeurope", host=host)
    assert (refused.admin, refused.metastore_id) == (False, None)
    assert "not an account admin" in refused.refusal


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for env in Environment:
        shutil.copy(ROOT / f"Pulumi.{env}.yaml", tmp_path)
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    (tmp_path / "bootstrap").mkdir()
    return tmp_path


def _run_with(
    root: Path, databricks: dict[str, Any], access: AccountAccess, exports: dict[str, Any]
) -> tuple[int, list[str], str]:
    document = {"config": {"mlops-bootstrap:databricks": databricks}}
    (root / "bootstrap" / "Pulumi.contoso.yaml").write_text(yaml.safe_dump(document))
    answers = cli.ask(
        {**ANSWERS, "BOOTSTRAP_BACKEND": f"file://{root / 'state'}"}, lambda q, d: d or pytest.fail(q)
    )
    ran: list[str] = []

    def fake(command: list[str], env: Any, capture: bool) -> str:
        ran.append(" ".join(command))
        return json.dumps(exports) if command[:3] == ["pulumi", "stack", "output"] else ""

    console = cli.Console(record=True, width=400)
    code = cli.run_bootstrap({}, answers, fake, console, root=root, check=lambda account, region: access)
    return code, ran, console.export_text()


def test_a_non_admin_cannot_run_a_stack_that_manages_the_account_and_nothing_runs(
    root: Path, bootstrap_run: OfflineRun
) -> None:
    not_admin = AccountAccess(admin=False, metastore_id=None, refusal="403")
    code, ran, _ = _run_with(
        root, {"accountId": ACCOUNT, "manageAccount": True}, not_admin, bootstrap_run.exports
    )
    assert (code, ran) == (cli.EXIT_NOT_READY, [])


def test_an_admin_run_records_that_the_stack_manages_the_account_before_pulumi_up(
    root: Path, bootstrap_run: OfflineRun
) -> None:
    admin = AccountAccess(admin=True, metastore_id=METASTORE)
    code, ran, printed = _run_with(root, {"accountId": ACCOUNT}, admin, bootstrap_run.exports)
    assert code == 0
    up = next(i for i, c in enumerate(ran) if c.startswith("pulumi up"))
    assert ran[up - 2 : up] == [
        "pulumi config set --path mlops-bootstrap:databricks.manageAccount true",
        f"pulumi config set --path mlops-bootstrap:databricks.metastoreId {METASTORE}",
    ]
    assert "databricks account groups create" not in printed
    assert "databricks grants update metastore" in printed  # the account provider cannot grant them


def test_a_non_admin_run_goes_on_and_prints_the_account_commands_with_the_real_names_and_ids(
    root: Path, bootstrap_run: OfflineRun
) -> None:
    not_admin = AccountAccess(admin=False, metastore_id=None, refusal="403")
    code, ran, printed = _run_with(root, {"accountId": ACCOUNT}, not_admin, bootstrap_run.exports)
    assert code == 0
    assert not [c for c in ran if "manageAccount" in c]
    objects = bootstrap_run.exports["accountObjects"]
    for group in objects["groups"]:
        assert f'databricks account groups create --json \'{{"displayName": "{group["name"]}"}}\'' in printed
    for deployer in objects["deployers"].values():
        assert f'"applicationId": "{deployer["applicationId"]}"' in printed
        assert f'displayName eq "{deployer["group"]}"' in printed
    assert '"add": ["CREATE_STORAGE_CREDENTIAL", "CREATE_EXTERNAL_LOCATION", "CREATE_CATALOG"]' in printed
