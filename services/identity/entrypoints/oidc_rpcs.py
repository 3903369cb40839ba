"""OidcProviderService over gRPC (ARCHITECTURE §14): the protocol's calls for the gateway (`public`), the
registration of applications and the rotation of keys for operators (`internal`). Protocol refusals travel in
the answers (OAuthFailure); the gateway words them as the RFCs say."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import grpc
from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc

from kit.auth import ServiceCredentials, bearer_token, client_address, require_service
from kit.clock import to_timestamp
from kit.errors import FieldViolation, InvalidArgument, Unauthenticated
from kit.grpc_server import Registrar

from identity.domain.oidc import AuthMethod, Client, OAuthError
from identity.entrypoints.grpc_servicer import Ctx
from identity.service_layer.oidc_clients import ClientAuthentication, OidcClients
from identity.service_layer.oidc_provider import AuthorizationRequest, OidcProvider
from identity.service_layer.oidc_resources import OidcResources
from identity.service_layer.sessions import Sessions

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OidcProviderService"].full_name
_INTERACTIONS: dict[str, pb.Interaction.ValueType] = {"LOGIN": pb.INTERACTION_LOGIN,
                                                      "PASSWORD_CHANGE": pb.INTERACTION_PASSWORD_CHANGE,
                                                      "CONSENT": pb.INTERACTION_CONSENT}


def failure(error: OAuthError) -> pb.OAuthFailure:
    return pb.OAuthFailure(error=error.error, error_description=error.description, redirectable=error.redirectable)


def client_message(c: Client, created: Any = None) -> pb.OidcClient:
    return pb.OidcClient(client_id=c.client_id, name=c.name, token_endpoint_auth_method=c.auth_method.value,
                         redirect_uris=c.redirect_uris, post_logout_redirect_uris=c.post_logout_redirect_uris,
                         scopes=c.scopes, backchannel_logout_uri=c.backchannel_logout_uri,
                         jwks_json=json.dumps(c.jwks) if c.jwks else "", disabled=c.disabled,
                         create_time=to_timestamp(created) if created else None)


def authentication(m: pb.ClientAuthentication) -> ClientAuthentication:
    return ClientAuthentication(m.client_id, m.client_secret, m.basic, m.client_assertion_type, m.client_assertion)


def new_client(m: pb.OidcClient) -> Client:
    try:
        method = AuthMethod(m.token_endpoint_auth_method)
        jwks = json.loads(m.jwks_json) if m.jwks_json else {}
    except ValueError:
        raise InvalidArgument([FieldViolation("client", "token_endpoint_auth_method is none, client_secret_basic or "
                                                        "private_key_jwt; jwks_json a JWKS")]) from None
    return Client(m.client_id, m.name, method, tuple(m.redirect_uris), tuple(m.post_logout_redirect_uris),
                  tuple(m.scopes) or ("openid", "profile", "email"), m.backchannel_logout_uri,
                  jwks if isinstance(jwks, dict) else {})


class OidcProviderServicer(pb_grpc.OidcProviderServiceServicer):
    def __init__(self, provider: OidcProvider, resources: OidcResources, clients: OidcClients, sessions: Sessions,
                 credentials: ServiceCredentials) -> None:
        self.provider, self.resources, self.clients, self.sessions = provider, resources, clients, sessions
        self.credentials = credentials

    def _gateway(self, context: Ctx) -> str:
        caller = require_service(self.credentials, context, ("public",))
        return client_address(context) if "public" in caller.roles else ""

    def _operator(self, context: Ctx) -> None:
        require_service(self.credentials, context, ("internal",))

    # ---- the protocol ---------------------------------------------------------------------------------------

    async def GetProviderMetadata(self, request: pb.GetProviderMetadataRequest,
                                  context: Ctx) -> pb.GetProviderMetadataResponse:
        self._gateway(context)
        return pb.GetProviderMetadataResponse(metadata_json=json.dumps(self.resources.metadata()))

    async def GetJwks(self, request: pb.GetJwksRequest, context: Ctx) -> pb.GetJwksResponse:
        self._gateway(context)
        return pb.GetJwksResponse(jwks_json=json.dumps(await self.resources.jwks()))

    async def Authorize(self, request: pb.AuthorizeRequest, context: Ctx) -> pb.AuthorizeResponse:
        self._gateway(context)
        asked = AuthorizationRequest(
            request.client_id, request.redirect_uri, request.response_type, request.scope, request.state,
            request.nonce, request.code_challenge, request.code_challenge_method, request.prompt,
            request.max_age if request.HasField("max_age") else None,
            request.login_after if request.HasField("login_after") else None, request.consented)
        issuer = self.provider.issuer
        try:
            found = await self.provider.authorize(asked, bearer_token(context))
        except OAuthError as error:
            return pb.AuthorizeResponse(failure=failure(error), issuer=issuer)
        interaction = _INTERACTIONS.get(found.login, pb.INTERACTION_UNSPECIFIED)
        return pb.AuthorizeResponse(code=found.code, interaction=interaction, issuer=issuer,
                                    client_name=found.client_name)

    async def ExchangeToken(self, request: pb.ExchangeTokenRequest, context: Ctx) -> pb.ExchangeTokenResponse:
        address = self._gateway(context)
        given = authentication(request.client)
        try:
            if request.grant_type == "authorization_code":
                tokens = await self.provider.exchange(given, request.code, request.redirect_uri,
                                                      request.code_verifier, address)
            elif request.grant_type == "refresh_token":
                tokens = await self.provider.refresh(given, request.refresh_token, request.scope, address)
            else:
                await self.clients.authenticate(given)
                raise OAuthError("unsupported_grant_type", "authorization_code or refresh_token")
        except OAuthError as error:
            return pb.ExchangeTokenResponse(failure=failure(error))
        return pb.ExchangeTokenResponse(id_token=tokens.id_token, access_token=tokens.access_token,
                                        refresh_token=tokens.refresh_token, expires_in=tokens.expires_in,
                                        scope=tokens.scope)

    async def GetUserInfo(self, request: pb.GetUserInfoRequest, context: Ctx) -> pb.GetUserInfoResponse:
        self._gateway(context)
        try:
            return pb.GetUserInfoResponse(claims_json=json.dumps(await self.resources.userinfo(request.access_token)))
        except Unauthenticated:
            return pb.GetUserInfoResponse()

    async def IntrospectToken(self, request: pb.IntrospectTokenRequest,
                              context: Ctx) -> pb.IntrospectTokenResponse:
        self._gateway(context)
        try:
            answer = await self.resources.introspect(authentication(request.client), request.token)
        except OAuthError as error:
            return pb.IntrospectTokenResponse(failure=failure(error))
        return pb.IntrospectTokenResponse(introspection_json=json.dumps(answer))

    async def RevokeToken(self, request: pb.RevokeTokenRequest, context: Ctx) -> pb.RevokeTokenResponse:
        address = self._gateway(context)
        try:
            await self.resources.revoke(authentication(request.client), request.token, address)
        except OAuthError as error:
            return pb.RevokeTokenResponse(failure=failure(error))
        return pb.RevokeTokenResponse()

    async def EndSession(self, request: pb.EndSessionRequest, context: Ctx) -> pb.EndSessionResponse:
        address = self._gateway(context)
        token = bearer_token(context)
        try:
            session = await self.sessions.validate(token, touch=False)
        except Unauthenticated:
            session = None
        outcome = await self.resources.end_session(session, request.id_token_hint, request.client_id,
                                                   request.post_logout_redirect_uri, request.state, request.confirmed)
        if outcome.ended:
            await self.sessions.logout(token, address)
        return pb.EndSessionResponse(redirect_uri=outcome.redirect_uri, confirm=outcome.confirm, ended=outcome.ended)

    # ---- operators ------------------------------------------------------------------------------------------

    async def CreateOidcClient(self, request: pb.CreateOidcClientRequest,
                               context: Ctx) -> pb.CreateOidcClientResponse:
        self._operator(context)
        client, secret = await self.clients.register(new_client(request.client))
        return pb.CreateOidcClientResponse(client=client_message(client), client_secret=secret)

    async def ListOidcClients(self, request: pb.ListOidcClientsRequest, context: Ctx) -> pb.ListOidcClientsResponse:
        self._operator(context)
        return pb.ListOidcClientsResponse(clients=[client_message(c, at) for c, at in await self.clients.all()])

    async def GetOidcClient(self, request: pb.GetOidcClientRequest, context: Ctx) -> pb.GetOidcClientResponse:
        self._operator(context)
        return pb.GetOidcClientResponse(client=client_message(await self.clients.get(request.client_id)))

    async def RotateOidcClientSecret(self, request: pb.RotateOidcClientSecretRequest,
                                     context: Ctx) -> pb.RotateOidcClientSecretResponse:
        self._operator(context)
        return pb.RotateOidcClientSecretResponse(client_secret=await self.clients.rotate_secret(request.client_id))

    async def DisableOidcClient(self, request: pb.DisableOidcClientRequest,
                                context: Ctx) -> pb.DisableOidcClientResponse:
        self._operator(context)
        return pb.DisableOidcClientResponse(client=client_message(await self.clients.disable(request.client_id)))

    async def RotateSigningKey(self, request: pb.RotateSigningKeyRequest,
                               context: Ctx) -> pb.RotateSigningKeyResponse:
        self._operator(context)
        if not 0 <= request.publish_lead_seconds <= 30 * 86400 or not 0 <= request.overlap_seconds <= 30 * 86400:
            raise InvalidArgument([FieldViolation("publish_lead_seconds", "0 to 30 days; overlap_seconds too")])
        kid = await self.provider.keys.rotate(lead=dt.timedelta(seconds=request.publish_lead_seconds),
                                              overlap=dt.timedelta(seconds=request.overlap_seconds))
        return pb.RotateSigningKeyResponse(kid=kid)


def oidc_registrar(servicer: OidcProviderServicer) -> Registrar:
    def register(server: grpc.aio.Server) -> None:
        pb_grpc.add_OidcProviderServiceServicer_to_server(servicer, server)
    return register
