"""Passkeys (ARCHITECTURE §15): adding one to the account, the login's second step with one, and signing in with a
passkey alone (two factors in one gesture: the device, and the PIN or biometrics that unlock it). Each ceremony
answers a challenge issued here, kept as a digest and taken once: an answer replayed, even in parallel, finds it
gone. The checks themselves are py_webauthn's (adapters/webauthn_ceremony.py).

A failed passkey is audited but not counted towards a lock: its answer is a signature, which cannot be guessed, and
counting would let anyone who saw a credential id lock its holder's passkeys."""
from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from kit import ratelimit
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied, Unauthenticated

from identity.adapters.webauthn_ceremony import (
    PasskeyRefused,
    RelyingParty,
    authentication_options,
    challenge_of,
    credential_id_of,
    registration_options,
    user_handle_of,
    verify_assertion,
    verify_registration,
)
from identity.domain import events as ev
from identity.domain.factors import AMR, FactorKind, Step, amr_of, merged_amr, new_recovery_codes
from identity.domain.passkeys import (
    CHALLENGE_MINUTES,
    MAX_CREDENTIAL_INPUT,
    MAX_PASSKEYS,
    Ceremony,
    Passkey,
    clean_name,
)
from identity.service_layer.common import OpenedSession, Tools, open_session
from identity.service_layer.login import REFUSALS
from identity.service_layer.second_factor import complete_login, locked_holder, not_pending, remove_factor
from identity.service_layer.sessions import ValidSession
from identity.service_layer.unit_of_work import IdentityUnitOfWork

PASSKEY_AMR = AMR[FactorKind.PASSKEY]


def passkey_invalid() -> Unauthenticated:
    return Unauthenticated("PASSKEY_INVALID", "this passkey could not be verified: try again")


def parsed(credential_json: str) -> dict[str, Any]:
    """The browser's answer (PublicKeyCredential.toJSON()), as a JSON object of bounded size."""
    value: Any = None
    if credential_json and len(credential_json) <= MAX_CREDENTIAL_INPUT:
        try:
            value = json.loads(credential_json)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested thousands deep
            value = None
    if not isinstance(value, dict):
        raise InvalidArgument([FieldViolation(
            "credential_json", f"is required: the browser's answer as a JSON object of at most {MAX_CREDENTIAL_INPUT}"
                               " characters")])
    return value


async def _with_room(uow: IdentityUnitOfWork, identifier: str) -> list[Passkey]:
    """The account's passkeys, when one more may be added."""
    existing = await uow.passkeys.of(identifier)
    if len(existing) >= MAX_PASSKEYS:
        raise FailedPrecondition("PASSKEY_LIMIT", f"at most {MAX_PASSKEYS} passkeys: remove one first")
    return existing


class Passkeys:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools
        s = tools.settings
        self.rp = RelyingParty(s.webauthn_rp_id, s.webauthn_rp_name, s.passkey_origins)
        self.per_client = ratelimit.Limit("passkey-client", s.login_limit_per_client_per_minute, 60)

    def _expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(minutes=CHALLENGE_MINUTES)

    # ---- adding one ---------------------------------------------------------------------------------------------

    async def begin_enrolment(self, session: ValidSession, client: str = "") -> str:
        account, now = session.account, self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            await locked_holder(self.tools, uow, session)  # a stolen session alone cannot add its thief's passkey
            existing = await _with_room(uow, account.identifier)
            handle = existing[0].user_handle if existing else secrets.token_bytes(32)  # one per account, random
            options, challenge = registration_options(
                self.rp, user_name=account.identifier, display_name=account.display_name, user_handle=handle,
                exclude=[p.credential_id for p in existing])
            await uow.passkeys.issue(challenge, Ceremony.ENROL, account.identifier, self._expiry(now), now, handle)
            await uow.commit()
        return options

    async def finish_enrolment(self, session: ValidSession, credential_json: str, name: str,
                               client: str = "") -> tuple[list[str], OpenedSession]:
        """The new passkey, the recovery codes when it is the account's first factor (shown once), and a complete
        session replacing the caller's (every other one ends, as with any new factor)."""
        credential, account, now = parsed(credential_json), session.account, self.tools.clock()
        challenge = challenge_of(credential)
        async with self.tools.uow(client=client) as uow:
            taken = await uow.passkeys.take(challenge, Ceremony.ENROL, now) if challenge else None
            if taken is None or taken[0] != account.identifier:
                raise passkey_invalid()  # nothing kept: another account's challenge stays theirs
            holder, _ = await locked_holder(self.tools, uow, session)
            try:
                registered = verify_registration(self.rp, credential, challenge or b"")
            except PasskeyRefused:
                holder.record(ev.SecondFactorFailed, now, kind=FactorKind.PASSKEY.value, attempt=0,
                              detail="passkey enrolment not verified")
                await uow.commit()  # the challenge is spent
                raise passkey_invalid() from None
            await _with_room(uow, holder.identifier)  # again, under the lock: two tabs at once
            passkey = Passkey(registered.credential_id, holder.identifier, registered.public_key,
                              registered.sign_count, clean_name(name, "Passkey"), taken[1], now, None)
            if not await uow.passkeys.add(passkey, now):
                raise FailedPrecondition("PASSKEY_ALREADY_REGISTERED", "this passkey is registered already")
            codes: list[str] = []
            if not await uow.factors.recovery_codes_left(holder.identifier):  # the first factor: its back-up
                codes = new_recovery_codes()
                await uow.factors.replace_recovery_codes(holder.identifier, codes, now)
            holder.record(ev.SecondFactorEnrolled, now, kind=FactorKind.PASSKEY.value, detail=f"passkey {passkey.name}")
            opened = await open_session(self.tools, uow, holder, session.must_change_password, now,
                                        amr=merged_amr(session.amr, *PASSKEY_AMR.split()))
            await uow.commit()
            return codes, opened

    async def remove(self, session: ValidSession, credential_id: bytes, client: str = "") -> None:
        now = self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            holder, status = await locked_holder(self.tools, uow, session)
            keys = await uow.passkeys.of(holder.identifier)
            passkey = next((p for p in keys if p.credential_id == credential_id), None)
            if passkey is None:  # another account's passkey is as unknown as a made-up one
                raise NotFound("PASSKEY_NOT_FOUND", "no such passkey on your account")
            await remove_factor(uow, holder, FactorKind.PASSKEY, keeps_other=len(keys) > 1 or
                                FactorKind.TOTP in status.enrolled, now=now, keeping=session.digest,
                                passkey=credential_id, detail=f"passkey {passkey.name}")
            await uow.commit()

    # ---- signing in -------------------------------------------------------------------------------------------

    async def begin_verification(self, session: ValidSession, client: str = "") -> str:
        """The login's second step: the account's own passkeys may answer."""
        if session.step != Step.VERIFY:
            raise not_pending()
        now = self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            keys = await uow.passkeys.of(session.account.identifier)
            if not keys:
                raise FailedPrecondition("SECOND_FACTOR_NOT_ENROLLED", "this factor is not set up for the account")
            options, challenge = authentication_options(self.rp, [k.credential_id for k in keys])
            await uow.passkeys.issue(challenge, Ceremony.VERIFY, session.account.identifier, self._expiry(now), now)
            await uow.commit()
        return options

    async def verify(self, session: ValidSession, credential_json: str, client: str = "") -> OpenedSession:
        if session.step != Step.VERIFY:
            raise not_pending()
        credential, account, now = parsed(credential_json), session.account, self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            passkey = await self._answered(uow, credential, Ceremony.VERIFY, now, account.identifier)
            if passkey is None:
                await uow.commit()  # the challenge is spent; a known passkey's failure is in its holder's trail
                raise passkey_invalid()
            opened = await complete_login(self.tools, uow, session, amr_of(PASSKEY_AMR),
                                          f"password + passkey {passkey.name}", now)
            await uow.commit()
            return opened

    async def begin_login(self, client: str = "") -> str:
        """Signing in with a passkey alone: any passkey of the portal may answer (the browser lists them)."""
        now = self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            if client:
                await uow.rate_limits.enforce([(self.per_client, client)])
            options, challenge = authentication_options(self.rp, [])
            await uow.passkeys.issue(challenge, Ceremony.LOGIN, "", self._expiry(now), now)
            await uow.commit()
        return options

    async def login(self, credential_json: str, client: str = "") -> OpenedSession:
        """The account is the passkey's. Refused as a password login would be (disabled, blocked, company closed);
        told only once the passkey is verified. A password to change stays to be changed."""
        credential, now = parsed(credential_json), self.tools.clock()
        async with self.tools.uow(client=client) as uow:
            passkey = await self._answered(uow, credential, Ceremony.LOGIN, now)
            if passkey is None:
                uow.record(ev.LoginFailed(identifier="", cofor_root="", at=now, detail="passkey not verified"))
                await uow.commit()
                raise passkey_invalid()
            account = await uow.accounts.get(passkey.identifier)
            assert account is not None  # accounts are never deleted
            if reason := account.login_refusal(now, company_open=await uow.companies.is_open(account.cofor_root)):
                uow.record(ev.LoginRefused(identifier=account.identifier, cofor_root=account.cofor_root, at=now,
                                           reason=reason, detail=f"{reason.lower()} (passkey)"))
                await uow.commit()
                raise PermissionDenied(reason, REFUSALS[reason])
            must_change = account.must_change_password or account.password_expired(
                now, self.tools.settings.password_max_age_days)
            opened = await open_session(self.tools, uow, account, must_change, now, amr=PASSKEY_AMR)
            account.signed_in_from(opened.device, now)
            await uow.accounts.logged_in(account, now, None)
            account.record(ev.LoggedIn, now, detail=f"passkey {passkey.name}")
            await uow.commit()
            return opened

    async def _answered(self, uow: IdentityUnitOfWork, credential: dict[str, Any], ceremony: Ceremony,
                        now: dt.datetime, identifier: str | None = None) -> Passkey | None:
        """The passkey that answered our challenge. Raises when the challenge is not one of ours for this ceremony
        (and this account); None, with the challenge spent, when the answer does not verify."""
        challenge = challenge_of(credential)
        taken = await uow.passkeys.take(challenge, ceremony, now) if challenge else None
        if taken is None or (identifier is not None and taken[0] != identifier):
            raise passkey_invalid()
        credential_id = credential_id_of(credential)
        passkey = await uow.passkeys.by_credential(credential_id) if credential_id else None
        if passkey is None or (identifier is not None and passkey.identifier != identifier):
            return None
        handle = user_handle_of(credential)  # WebAuthn §7.2 step 6: the key speaks for the account it was made for
        if handle is not None and handle != passkey.user_handle:
            return None
        try:
            count = verify_assertion(self.rp, credential, challenge or b"", passkey.public_key, passkey.sign_count)
        except PasskeyRefused as refused:
            # The holder's trail keeps it; a counter gone back is a copied key (or an old answer): the holder is told.
            holder = await uow.accounts.get(passkey.identifier)
            assert holder is not None
            if "sign count" in str(refused):
                holder.record(ev.PasskeyCopySuspected, now,
                              detail=f"passkey {passkey.name}: signature counter went back")
            else:
                holder.record(ev.SecondFactorFailed, now, attempt=0, kind=FactorKind.PASSKEY.value,
                              detail=f"passkey {passkey.name}: not verified")
            return None
        return passkey if await uow.passkeys.used(passkey, count, now) else None
