"""Calling a service the way the gateway, internal systems and portalctl do: stub + credential metadata,
and the AIP-193 details of a failed call."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY, agent_metadata


@dataclass
class ServiceClient:
    """``await client.Method(request, as_="gateway", bearer=..., client="1.2.3.4", agent="Ann Roy")``."""

    stub: Any
    tokens: dict[str, str]
    default_caller: str = "gateway"
    calls: int = field(default=0)

    def __getattr__(self, method: str) -> Any:
        rpc = getattr(self.stub, method)

        async def invoke(request: Any, *, as_: str | None = None, bearer: str | None = None,
                         client: str | None = None, agent: str | None = None) -> Any:
            metadata = [agent_metadata(agent)] if agent else []
            caller = as_ if as_ is not None else self.default_caller
            if caller:
                metadata.append((SERVICE_TOKEN_KEY, self.tokens[caller]))
            if bearer:
                metadata.append((AUTHORIZATION_KEY, f"Bearer {bearer}"))
            if client:
                metadata.append((CLIENT_ADDRESS_KEY, client))
            self.calls += 1
            return await rpc(request, metadata=metadata, timeout=15)

        return invoke


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    reason: str
    metadata: dict[str, str]
    field_violations: list[tuple[str, str]]
    precondition_subjects: list[str]
    message: str
    violation_reasons: list[str] = field(default_factory=list)


def failure_of(error: grpc.aio.AioRpcError) -> RpcFailure:
    """The AIP-193 details of a failed call."""
    status = rpc_status.from_call(cast(grpc.Call, error))  # an AioRpcError offers the grpc.Call surface it reads
    reason, metadata, violations, subjects = "", {}, [], []
    violation_reasons: list[str] = []
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [(v.field, v.description) for v in bad.field_violations]
                violation_reasons = [v.reason for v in bad.field_violations]
            elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
                failure = error_details_pb2.PreconditionFailure()
                detail.Unpack(failure)
                subjects = [v.subject for v in failure.violations]
    return RpcFailure(error.code(), reason, metadata, violations, subjects, error.details() or "", violation_reasons)
