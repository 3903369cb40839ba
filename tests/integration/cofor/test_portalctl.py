"""The operator CLI against a running cofor service (a real subprocess, as an operator runs it)."""
from __future__ import annotations

import asyncio
import os
import sys

from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from .conftest import TOKENS, Cofor
from .flows import submitted


async def portalctl(cofor: Cofor, *args: str, token: str = TOKENS["purchasing"]) -> tuple[int, str, str]:
    env = {**os.environ, "COFOR_TARGET": cofor.app.target, "PORTAL_OPERATOR_TOKEN": token}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_purchasing_references_and_manages_a_supplier_from_the_command_line(cofor: Cofor) -> None:
    p, _ = await submitted(cofor)
    code, out, _ = await portalctl(cofor, "cofor", "presentations", "--state", "SUBMITTED")
    assert code == 0 and p.presentation_id in out and "SUBMITTED" in out
    code, out, _ = await portalctl(cofor, "cofor", "reference", p.presentation_id)
    assert code == 0 and "referenced: COFOR" in out
    root = out.split("'")[1].split()[0]
    code, out, _ = await portalctl(cofor, "cofor", "add-site", root, "--name", "Plant 2", "--city", "Metz",
                                   "--country", "FR")
    assert code == 0 and f"{root}  02" in out
    code, out, _ = await portalctl(cofor, "cofor", "validate", root, f"{root}02", "nope")
    assert code == 0 and "head office" in out and "site of" in out and "invalid (MALFORMED)" in out
    code, _, _ = await portalctl(cofor, "cofor", "deactivate", root, "--reason", "merged")
    supplier = (await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=root), as_="erp")).supplier
    assert code == 0 and supplier.status == pb.SUPPLIER_STATUS_DEACTIVATED
    code, out, _ = await portalctl(cofor, "cofor", "show", root)
    assert code == 0 and '"status": "SUPPLIER_STATUS_DEACTIVATED"' in out
    code, out, _ = await portalctl(cofor, "cofor", "validate", root)
    assert code == 0 and "valid" not in out.split(":", 1)[1] and "supplier DEACTIVATED" in out  # not "valid"


async def test_errors_are_explained_and_the_gateway_credential_is_refused(cofor: Cofor) -> None:
    code, _, err = await portalctl(cofor, "cofor", "reject", "not-a-file", "--reason", "x")
    assert code == 1 and "NOT_FOUND PRESENTATION_NOT_FOUND" in err
    code, _, err = await portalctl(cofor, "cofor", "list", token=TOKENS["gateway"])
    assert code == 1 and "PERMISSION_DENIED CALLER_NOT_ALLOWED" in err
