"""Support staff from the command line (a real portalctl subprocess against a running identity service): find,
inspect, and the audited changes on any company — unlock, disable, revoke-admin, reset-factors — with the agent and a
reason."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api

from kit.client import failure_of

from .conftest import TOKENS, Identity


async def portalctl(identity: Identity, *args: str, user: str = "jmartin", **more: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PORTAL_AGENT"}
    env.update(IDENTITY_TARGET=identity.app.target, PORTAL_OPERATOR_TOKEN=TOKENS["support"], USER=user, **more)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", "identity", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def latest_trail_entry(identity: Identity, identifier: str) -> pb.AuditEvent:
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=identifier), as_="support")
    return trail.audit_events[0]


async def test_support_staff_find_inspect_and_unlock_from_the_command_line(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError):
            await identity.login(company.asl, "typo typo typo typo")
    code, out, _ = await portalctl(identity, "find", "--cofor", company.root)
    header, row = out.splitlines()
    assert code == 0 and header.split() == ["IDENTIFIER", "COFOR", "STATE", "ROLES", "NAME", "E-MAIL", "LAST", "LOGIN"]
    assert re.match(rf"{company.asl}  +{company.root}  +blocked  +user, administrator  ", row), row
    code, out, _ = await portalctl(identity, "audit", company.asl)
    assert code == 0 and out.splitlines()[0].split() == ["TIME", "ACTION", "SUBJECT", "ACTOR", "FROM", "DETAIL"]
    assert "  account locked  " in out and "  login failed  " in out and "ACCOUNT_LOCKED" not in out
    code, out, _ = await portalctl(identity, "audit", company.asl, "--json")
    trail = json.loads(out)
    assert code == 0 and {"AUDIT_ACTION_ACCOUNT_LOCKED", "AUDIT_ACTION_LOGIN_FAILED"} <= {e["action"] for e in trail}
    assert all(e["subject_identifier"] == company.asl for e in trail)
    code, out, _ = await portalctl(identity, "audit", company.asl, "--limit", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    piped = await asyncio.create_subprocess_shell(  # a reader that stops early: no traceback, no error
        f"{sys.executable} -m portalctl identity audit {company.asl} | head -1", env={
            **os.environ, "IDENTITY_TARGET": identity.app.target, "PORTAL_OPERATOR_TOKEN": TOKENS["support"]},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first_line, complaint = await piped.communicate()
    assert len(first_line.decode().splitlines()) == 1 and complaint.decode() == "", complaint.decode()
    code, _, err = await portalctl(identity, "unlock", company.asl)
    assert code == 2 and "--reason" in err  # refused by the command line itself
    code, out, _ = await portalctl(identity, "unlock", company.asl, "--reason", "called the hotline, id checked")
    assert code == 0 and out == f"{company.asl} unlocked (state active; roles user, administrator)\n"
    entry = await latest_trail_entry(identity, company.asl)
    assert pb.AuditAction.Name(entry.action) == "AUDIT_ACTION_ACCOUNT_UNLOCKED"
    assert entry.detail == "agent jmartin: called the hotline, id checked"  # the agent defaults to $USER
    code, _, err = await portalctl(identity, "show", "V00")
    assert code == 1 and "INVALID_ARGUMENT" in err


async def test_support_staff_remove_a_rogue_sole_asl_from_the_command_line(identity: Identity) -> None:
    rogue, other = await identity.company(), await identity.company()
    token = await identity.ready_asl(rogue)
    code, _, err = await portalctl(identity, "revoke-admin", rogue.asl, "--reason", "two\nlines")
    assert code == 1 and "INVALID_ARGUMENT" in err and "reason" in err
    got = await identity.client.GetUser(api.GetUserRequest(identifier=rogue.asl), as_="support")
    assert pb.ROLE_ADMINISTRATOR in got.account.roles  # the refused call changed nothing
    code, out, _ = await portalctl(identity, "revoke-admin", rogue.asl, "--reason", "rogue ASL, ticket B2B-2026-7",
                                   "--agent", "Jérôme Roy")
    assert code == 0 and out == f"{rogue.asl} is no longer an ASL (state active; roles user)\n"  # even the last
    entry = await latest_trail_entry(identity, rogue.asl)
    assert (entry.actor, entry.detail) == ("support:support", "agent Jérôme Roy: rogue ASL, ticket B2B-2026-7")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    assert failure_of(refused.value).reason == "SESSION_INVALID"
    code, out, _ = await portalctl(identity, "disable", other.asl, "--reason", "rogue ASL")
    assert code == 0 and out.startswith(f"{other.asl} disabled (state disabled; roles ")
    entry = await latest_trail_entry(identity, other.asl)
    assert entry.detail == "agent jmartin: rogue ASL"


async def test_support_staff_reset_an_asls_second_factor_from_the_command_line(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    code, _, err = await portalctl(identity, "reset-factors", company.asl)
    assert code == 2 and "--reason" in err
    code, out, _ = await portalctl(identity, "reset-factors", company.asl, "--reason",
                                   "lost phone; called back on the number on record")
    assert code == 0 and "second factors reset" in out
    entry = await latest_trail_entry(identity, company.asl)
    assert pb.AuditAction.Name(entry.action) == "AUDIT_ACTION_SECOND_FACTORS_RESET"
    assert entry.detail == "agent jmartin: lost phone; called back on the number on record"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    assert failure_of(refused.value).reason == "SESSION_INVALID"  # its sessions ended


async def test_the_agent_defaults_to_portal_agent_and_an_account_reads_as_a_block(identity: Identity) -> None:
    company = await identity.company()
    await identity.ready_asl(company)
    code, out, _ = await portalctl(identity, "show", company.asl)
    assert code == 0 and re.search(rf"^identifier +{company.asl}$", out, re.M)
    assert re.search(r"^state +active$", out, re.M) and re.search(r"^roles +user, administrator$", out, re.M)
    assert re.search(r"^create time +\d{4}-\d\d-\d\d \d\d:\d\d \S+$", out, re.M) and "ACCOUNT_STATE" not in out
    code, out, _ = await portalctl(identity, "--json", "show", company.asl)
    shown = json.loads(out)
    assert (shown["identifier"], shown["state"], shown["roles"]) == (company.asl, "ACCOUNT_STATE_ACTIVE",
                                                                     ["ROLE_USER", "ROLE_ADMINISTRATOR"])
    code, out, _ = await portalctl(identity, "disable", company.asl, "--reason", "left the company", "--json",
                                   PORTAL_AGENT="Nadia Support")
    assert code == 0 and json.loads(out)["state"] == "ACCOUNT_STATE_DISABLED"
    entry = await latest_trail_entry(identity, company.asl)
    assert entry.detail == "agent Nadia Support: left the company"  # $PORTAL_AGENT before the login
