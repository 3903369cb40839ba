"""IdentityService over gRPC. Not built yet: every RPC answers UNIMPLEMENTED (see the open issue)."""
from __future__ import annotations

import grpc
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc

SERVICE_NAME = api.DESCRIPTOR.services_by_name["IdentityService"].full_name


def register(server: grpc.aio.Server) -> None:
    api_grpc.add_IdentityServiceServicer_to_server(api_grpc.IdentityServiceServicer(), server)
