"""The console's list (issue 16) on SQLite and PostgreSQL: words, state and role filters combined, the number of
matches and of active ASLs, paging tied to its filters, the company's accounts only; an address the company
already uses is not given a second account unless the ASL says so, even when two clicks race."""
from __future__ import annotations

import asyncio

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api

from kit.client import failure_of

from .conftest import Identity


async def created(identity: Identity, token: str, given: str, family: str, email: str,
                  **kwargs: object) -> pb.Account:
    return (await identity.client.CreateUser(api.CreateUserRequest(
        given_name=given, family_name=family, email=email, **kwargs), bearer=token)).account  # type: ignore[arg-type]


async def test_words_state_and_role_narrow_the_list_of_the_own_company_only(identity: Identity) -> None:
    company, other = await identity.company(), await identity.company()
    token, other_token = await identity.ready_asl(company), await identity.ready_asl(other)
    emma = await created(identity, token, "Emma", "Lefèvre", "emma.lefevre@supplier.example")
    await created(identity, token, "Émile", "Zola", "ezola@supplier.example")
    await created(identity, token, "Axel", "100%_done", "axel@supplier.example")
    await created(identity, other_token, "Emma", "Lefèvre", "emma.lefevre@other.example")  # another company

    async def listed(**criteria: object) -> api.ListUsersResponse:
        return await identity.client.ListUsers(api.ListUsersRequest(**criteria), bearer=token)  # type: ignore[arg-type]

    found = await listed(query="emma LEF")
    assert [a.identifier for a in found.accounts] == [emma.identifier] and found.total_size == 1
    assert (await listed(query="Émile")).total_size == 1  # as typed, accents and all
    assert (await listed(query=emma.identifier.lower())).total_size == 1
    assert (await listed(query="%")).total_size == 1 and (await listed(query="_")).total_size == 1  # data only
    assert (await listed(query="supplier.example")).total_size == 3  # never the other company's Emma
    admins = await listed(role=pb.ROLE_ADMINISTRATOR)
    assert [a.identifier for a in admins.accounts] == [company.asl] and admins.active_administrators == 1
    assert (await listed(role=pb.ROLE_USER)).total_size == 3
    await identity.client.DisableUser(api.DisableUserRequest(identifier=emma.identifier), bearer=token)
    assert (await listed(query="emma", state=pb.ACCOUNT_STATE_ACTIVE)).total_size == 0
    assert (await listed(query="emma", state=pb.ACCOUNT_STATE_DISABLED)).total_size == 1

    first = await listed(page_size=2)
    assert first.total_size == 4 and first.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as refused:  # a token made for other filters
        await listed(page_size=2, page_token=first.next_page_token, query="emma")
    assert failure_of(refused.value).field_violations[0][0] == "page_token"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await listed(query="x" * 101)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await listed(role=7)
    assert failure_of(refused.value).field_violations[0][0] == "role"


async def test_an_address_already_used_needs_the_asls_word_even_when_two_clicks_race(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    twice = await asyncio.gather(*(identity.client.CreateUser(api.CreateUserRequest(
        given_name="Hugo", family_name="Petit", email="hugo.petit@supplier.example"), bearer=token)
        for _ in range(2)), return_exceptions=True)
    made = [r for r in twice if isinstance(r, api.CreateUserResponse)]
    [refusal] = [failure_of(r) for r in twice if isinstance(r, grpc.aio.AioRpcError)]
    assert len(made) == 1 and refusal.reason == "DUPLICATE_EMAIL"
    assert refusal.metadata == {"identifiers": made[0].account.identifier}
    shared = await created(identity, token, "Léa", "Petit", "HUGO.PETIT@supplier.example", allow_duplicate_email=True)
    listed = await identity.client.ListUsers(api.ListUsersRequest(query="hugo.petit"), bearer=token)
    assert {a.identifier for a in listed.accounts} == {made[0].account.identifier, shared.identifier}
