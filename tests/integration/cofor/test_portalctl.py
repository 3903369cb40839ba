"""The operator CLI against a running cofor service (a real subprocess, as an operator runs it)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys

from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import supplier_pb2 as pb

from .conftest import TOKENS, Cofor
from .flows import access_state_becomes, contact, referenced, submitted


async def portalctl(cofor: Cofor, *args: str, token: str = TOKENS["purchasing"]) -> tuple[int, str, str]:
    env = {**os.environ, "COFOR_TARGET": cofor.app.target, "PORTAL_OPERATOR_TOKEN": token}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def rows(out: str) -> dict[str, list[str]]:
    """A table's rows by their first cell, each cell read in its header's column (so the columns must be aligned)."""
    header, *lines = out.splitlines()
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", header)] + [None]
    table = [[line[a:b].strip() for a, b in zip(starts, starts[1:])] for line in lines]
    return {cells[0]: cells for cells in table}


async def test_purchasing_references_and_manages_a_supplier_from_the_command_line(cofor: Cofor) -> None:
    p, _ = await submitted(cofor)
    code, out, _ = await portalctl(cofor, "cofor", "presentations", "--state", "Submitted")  # any case
    assert code == 0 and out.splitlines()[0].split() == ["ID", "STATE", "D-U-N-S", "LEGAL", "NAME", "E-MAIL",
                                                         "UPDATED", "MISSING"]
    assert rows(out)[p.presentation_id][1:4] == ["submitted", p.duns, "Forges de Lorraine SA"]
    assert "PRESENTATION_STATE" not in out and "SUBMITTED" not in out
    code, out, _ = await portalctl(cofor, "cofor", "reference", p.presentation_id)
    assert code == 0 and "referenced: COFOR" in out
    root = out.split("'")[1].split()[0]
    code, out, _ = await portalctl(cofor, "cofor", "add-site", root, "--name", "Plant 2", "--city", "Metz",
                                   "--country", "FR")
    assert code == 0 and f"{root}  02" in out
    code, out, _ = await portalctl(cofor, "cofor", "validate", root, f"{root}02", "nope")
    assert code == 0 and out.splitlines()[0].split() == ["INPUT", "RESULT", "COFOR", "SITE", "SUPPLIER", "NOTE"]
    table = rows(out)
    assert table[root][1:4] == ["valid", f"{root}  01", "head office"]
    assert table[f"{root}02"][1:5] == ["valid", f"{root}  02", "site", "Forges de Lorraine SA"]
    assert table["nope"][1] == "invalid" and table["nope"][-1] == "malformed"
    code, out, _ = await portalctl(cofor, "cofor", "deactivate", root, "--reason", "merged")
    supplier = (await cofor.client.GetSupplier(api.GetSupplierRequest(cofor=root), as_="erp")).supplier
    assert code == 0 and supplier.status == pb.SUPPLIER_STATUS_DEACTIVATED
    assert out == f"{root} (Forges de Lorraine SA) deactivated\n"
    code, out, _ = await portalctl(cofor, "cofor", "show", root)  # a key/value block, the enums in words
    assert code == 0 and re.search(r"^status +deactivated$", out, re.M) and re.search(r"^D-U-N-S +\d{9}$", out, re.M)
    assert re.search(r"^portal access state +not requested$", out, re.M) and "SUPPLIER_STATUS" not in out
    assert re.search(rf"^    cofor +{root}  02$", out, re.M)  # the sites, each under its number
    code, out, _ = await portalctl(cofor, "cofor", "validate", root)
    assert code == 0 and rows(out)[root][1] == "known" and rows(out)[root][-1] == "supplier deactivated"


async def test_every_command_speaks_json_for_scripts(cofor: Cofor) -> None:
    s = await referenced(cofor)
    code, out, _ = await portalctl(cofor, "cofor", "show", s.cofor_root, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["cofor_root"] == s.cofor_root and shown["status"] == "SUPPLIER_STATUS_ACTIVE"
    assert shown["sites"][0]["cofor"] == s.head_office_cofor and shown["status_reason"] == ""  # defaults too
    code, out, _ = await portalctl(cofor, "--json", "cofor", "list")  # also before the command
    [listed] = [x for x in json.loads(out) if x["cofor_root"] == s.cofor_root]
    assert code == 0 and listed["portal_access_state"] == "PORTAL_ACCESS_STATE_NOT_REQUESTED"
    code, out, _ = await portalctl(cofor, "cofor", "validate", s.cofor_root, "nope", "--json")
    assert [(r["input"], r["valid"]) for r in json.loads(out)] == [(s.cofor_root, True), ("nope", False)]
    code, out, err = await portalctl(cofor, "cofor", "deactivate", s.cofor_root, "--reason", "merged", "--json")
    assert code == 0 and json.loads(out)["status"] == "SUPPLIER_STATUS_DEACTIVATED", err
    code, out, _ = await portalctl(cofor, "cofor", "presentations", "--state", "referenced", "--json")
    assert code == 0 and s.presentation_id in [x["presentation_id"] for x in json.loads(out)]


async def test_purchasing_reviews_an_access_request_from_the_command_line(cofor: Cofor) -> None:
    recorded = contact("signatory")
    s = await referenced(cofor, recorded)
    await cofor.client.RequestPortalAccess(api.RequestPortalAccessRequest(
        cofor=s.cofor_root, signatory=contact("stranger"), administrator=contact("nominee")))
    await access_state_becomes(cofor, s.cofor_root, pb.PORTAL_ACCESS_STATE_UNDER_REVIEW)
    code, out, _ = await portalctl(cofor, "cofor", "requests")
    assert code == 0 and out.splitlines()[0].split() == ["COFOR", "LEGAL", "NAME", "REQUEST", "STATUS", "FILED", "FROM",
                                                         "SIGNATORY", "NAMED", "NOMINATED", "ASL", "SIGNATORY", "OF",
                                                         "RECORD"]
    row = rows(out)[s.cofor_root]
    assert row[3] == "under review" and row[-1] == f"Signatory Martin <{recorded.email}>"
    code, out, _ = await portalctl(cofor, "cofor", "requests", "--json")
    [mine] = [x for x in json.loads(out) if x["cofor_root"] == s.cofor_root]
    assert mine["pending_access_requests"][0]["status"] == "ACCESS_REQUEST_STATUS_UNDER_REVIEW"
    code, _, err = await portalctl(cofor, "cofor", "review", s.cofor_root, "--reason", "which?")
    assert code == 2 and "Usage: portalctl cofor review" in err and "--approve or --decline" in err
    code, out, err = await portalctl(cofor, "cofor", "review", s.cofor_root, "--approve", "--given-name", "Signatory",
                                     "--family-name", "Martin", "--email", recorded.email, "--phone", recorded.phone,
                                     "--job-title", "Director", "--language", "FR", "--agent", "Claire Achats")
    assert code == 0, err
    assert out.splitlines() == [f"request {row[2]}: approved, the acceptance link went to the signatory of record",
                                "access terms pending"]


async def test_errors_are_explained_and_the_gateway_credential_is_refused(cofor: Cofor) -> None:
    code, _, err = await portalctl(cofor, "cofor", "reject", "not-a-file", "--reason", "x")
    assert code == 1 and "NOT_FOUND PRESENTATION_NOT_FOUND" in err
    code, _, err = await portalctl(cofor, "cofor", "list", token=TOKENS["gateway"])
    assert code == 1 and "PERMISSION_DENIED CALLER_NOT_ALLOWED" in err
    code, out, err = await portalctl(cofor, "cofor", "presentations", "--state", "lost")  # Click's usage error
    assert code == 2 and out == "" and "Error: Invalid value for '--state': 'lost' is not one of" in err
