"""Agents from the command line (a real portalctl subprocess against a running support service): tickets as a table
with headers, statuses in any case, the author taken from $PORTAL_AGENT, a ticket as a key/value block, and --json for
scripts."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys

from .conftest import TOKENS, Support, unique_email
from .test_tickets_and_help import contact, create


async def portalctl(support: Support, *args: str, agent: str = "Ann Agent") -> tuple[int, str, str]:
    env = {**os.environ, "SUPPORT_TARGET": support.app.target, "PORTAL_OPERATOR_TOKEN": TOKENS["agent"],
           "PORTAL_AGENT": agent}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_agents_work_tickets_in_any_case_with_their_name_by_default(support: Support) -> None:
    requester = unique_email("cli")
    ticket = await create(support, contact=contact(requester))
    code, out, _ = await portalctl(support, "support", "tickets", "--status", "new", "--email", requester)
    header, row = out.splitlines()
    assert code == 0 and header.split() == ["REFERENCE", "STATUS", "CATEGORY", "CREATED", "E-MAIL", "SUBJECT"]
    assert re.match(rf"{ticket.reference}  +new  +login problem  +\d{{4}}-\d\d-\d\d \d\d:\d\d \S+  +{requester}  ",
                    row), row
    code, out, err = await portalctl(support, "support", "status", ticket.reference, "in-progress")
    assert code == 0 and out == f"{ticket.reference} is now in progress\n", err
    code, out, _ = await portalctl(support, "support", "status", ticket.reference, "Waiting_On_Requester", "--note",
                                   "asked for the COFOR", "--json")
    moved = json.loads(out)
    assert code == 0 and moved["status"] == "TICKET_STATUS_WAITING_ON_REQUESTER"
    assert [c["author"] for c in moved["status_changes"]] == ["Ann Agent", "Ann Agent"]  # $PORTAL_AGENT
    code, out, _ = await portalctl(support, "support", "reply", ticket.reference, "--text", "Fixed now.\nRegards")
    assert code == 0 and out == f"reply added to {ticket.reference} and mailed to the requester\n"
    code, out, _ = await portalctl(support, "support", "ticket", ticket.reference)
    assert code == 0 and re.search(r"^status +waiting on requester$", out, re.M) and "TICKET_" not in out
    assert re.search(r"^    author +Ann Agent\n    text +Fixed now\.\n +Regards$", out, re.M), out  # the reply
    code, out, _ = await portalctl(support, "--json", "support", "tickets", "--status", "WAITING ON REQUESTER",
                                   "--email", requester)
    [listed] = json.loads(out)
    assert code == 0 and listed["reference"] == ticket.reference and listed["contact"]["email"] == requester
    code, _, err = await portalctl(support, "support", "status", ticket.reference, "done")
    assert code == 2 and "Invalid value for 'STATUS': 'done' is not one of 'new', 'in_progress'" in err
