"""Present your company: the presenter's steps. The token is only mailed; its first use confirms the file, which
then holds its D-U-N-S. Purchasing's side is in referencing.py."""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from portal.cofor.v1 import events_pb2 as ev

from kit import ratelimit, validation
from kit.digests import token_digest
from kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    Unauthenticated,
    Violations,
)
from notify import mails, send_mail

from cofor.domain.codes import normalize_duns
from cofor.domain.presentations import Presentation, PresentationState
from cofor.service_layer.base import (
    RegistryBase,
    request_id_violation,
)
from cofor.service_layer.presentation_fields import file_changes
from cofor.service_layer.unit_of_work import CoforUnitOfWork, KeyTaken

START_LIMIT = ratelimit.Limit("start-presentation", 10, 3600)
# The confirmed file's presenter hears of other attempts on the D-U-N-S, but at most once an hour.
CLAIM_NOTICE_LIMIT = ratelimit.Limit("duns-claim-notice", 1, 3600)

def duns_taken(duns: str) -> AlreadyExists:
    return AlreadyExists("DUNS_ALREADY_PRESENTED", "a company file already exists for this D-U-N-S number",
                         metadata={"duns": duns})


class Presentations(RegistryBase):
    async def start_presentation(self, *, duns: str, email: str, legal_name: str, language: str,
                                 request_id: str = "", client: str = "", for_purchasing: str = "") -> Presentation:
        """``for_purchasing``: the purchasing agent opening the file for a company (it then holds the D-U-N-S at
        once, and takes it from a draft that squats it); "" for the public."""
        v = Violations()
        try:
            duns = normalize_duns(duns)
        except ValueError as exc:
            v.add("duns", str(exc))
        email, legal_name = email.strip(), validation.clean(legal_name)
        if err := validation.email_error(email):
            v.add("email", err)
        if err := validation.text_error(legal_name):
            v.add("legal_name", err)
        lang = validation.language_of(language)
        if lang is None:
            v.add("language", "must be fr or en")
        request_id_violation(v, request_id)
        v.raise_if_any()
        token, now, owner = secrets.token_urlsafe(32), self.now(), f"{duns} {email}"
        async with self.uow() as uow:
            if client:  # replays count too: each one mails a fresh link
                await uow.rate_limits.enforce(START_LIMIT, client)
            if existing_id := await uow.remembered("StartPresentation", request_id, owner=owner):
                existing = await uow.presentations.get(existing_id, for_update=True)
                assert existing is not None
                if existing.reissue_token(token_digest(token), now):  # the retry's mail carries a fresh token
                    self._mail_started(uow, existing, token)
                    await uow.commit()
                return existing
            if for_purchasing:
                await self._take_from_squatting_draft(uow, duns, for_purchasing, now)
            if await self._duns_taken(uow, duns, now):
                await uow.commit()  # the notice and the client's count are kept
                raise duns_taken(duns)
            presentation = Presentation(id=str(uuid.uuid4()), duns=duns, email=email, language=lang or "fr",
                                        legal_name=legal_name, presenter_token_digest=token_digest(token),
                                        created_at=now, updated_at=now, started_by=for_purchasing)
            if for_purchasing:
                presentation.hold()
            uow.presentations.add(presentation)
            uow.remember("StartPresentation", request_id, presentation.id, owner=owner)
            self._mail_started(uow, presentation, token)
            await uow.commit()
            return presentation

    async def _take_from_squatting_draft(self, uow: CoforUnitOfWork, duns: str, agent: str, now: dt.datetime) -> None:
        """Purchasing opens the file for the company whose D-U-N-S a draft holds: the draft is rejected in the same
        transaction, so the squatter cannot take the D-U-N-S again in between."""
        claimant = await uow.presentations.claimant(duns)
        if claimant is not None and claimant.state == PresentationState.DRAFT:
            reason = f"purchasing ({agent}) opened the company's file with the company"
            claimant.reject(reason, now)
            self._rejected(uow, claimant, reason)
            await uow.flush()

    def _rejected(self, uow: CoforUnitOfWork, p: Presentation, reason: str) -> None:
        uow.publish("cofor.presentation.rejected", ev.PresentationRejected(
            presentation_id=p.id, duns=p.duns, legal_name=p.legal_name, email=p.email, language=p.language,
            reason=reason))
        send_mail(uow, mails.presentation_rejected(legal_name=p.legal_name, duns=p.duns, presentation_id=p.id,
                                                   reason=reason), to=[(p.email, "")], language=p.language)

    async def _duns_taken(self, uow: CoforUnitOfWork, duns: str, now: dt.datetime, *, mine: str = "") -> bool:
        """Whether the D-U-N-S belongs to another confirmed (or held) live file — a due one lapses here — or to a
        supplier. That file's presenter is told of the attempt (at most once an hour)."""
        claimant = await uow.presentations.claimant(duns)
        if claimant is not None and claimant.id == mine:
            return False
        if claimant is not None and claimant.is_due(now):
            claimant.expire(now)
            await uow.flush()
            claimant = None
        if claimant is None:
            return await uow.suppliers.holds_duns(duns)
        if await uow.rate_limits.hit(CLAIM_NOTICE_LIMIT, duns) <= CLAIM_NOTICE_LIMIT.max_calls:
            send_mail(uow, mails.presentation_duns_claimed(legal_name=claimant.legal_name, duns=duns, attempt_time=now),
                      to=[(claimant.email, "")], language=claimant.language)
        return True

    def _mail_started(self, uow: CoforUnitOfWork, p: Presentation, token: str) -> None:
        send_mail(uow, mails.presentation_started(
            legal_name=p.legal_name, duns=p.duns, presentation_id=p.id, expire_time=p.expires_at() or p.created_at,
            presenter_token=token), to=[(p.email, "")], language=p.language, seal_key=self.seal_key)

    async def _presenter_file(self, uow: CoforUnitOfWork, presentation_id: str, token: str | None,
                              *, purchasing: bool = False) -> Presentation:
        presentation = await uow.presentations.get(presentation_id, for_update=not uow.readonly) \
            if validation.is_uuid(presentation_id) else None
        if not purchasing:
            # Same answer for an unknown file and a wrong token: the token is the only proof.
            expected = presentation.presenter_token_digest if presentation else token_digest("x")
            if not token or not hmac.compare_digest(token_digest(token), expected) or presentation is None:
                raise Unauthenticated("PRESENTER_TOKEN_INVALID", "this link or token does not open this file")
            await self._presenter_came(uow, presentation)
        if presentation is None:
            raise NotFound("PRESENTATION_NOT_FOUND", "no such company file")
        return presentation

    async def _presenter_came(self, uow: CoforUnitOfWork, p: Presentation) -> None:
        """The mailed token was presented: a due file lapses; an unconfirmed one is confirmed and claims its
        D-U-N-S, unless another file of the D-U-N-S was confirmed first (this one then lapses)."""
        now = self.now()
        if p.is_due(now):
            p.expire(now)
            await uow.commit()
            raise FailedPrecondition("PRESENTATION_EXPIRED", "this company file has expired; start a new one")
        if p.confirmed or p.state != PresentationState.DRAFT:
            return
        if await self._duns_taken(uow, p.duns, now, mine=p.id):
            p.expire(now)
            await uow.commit()
            raise duns_taken(p.duns)
        p.confirm(now)
        await uow.flush()  # a racing confirmation of another file fails here (unique duns_claim)

    async def update_presentation(self, presentation_id: str, token: str | None, values: dict[str, Any],
                                  paths: list[str]) -> Presentation:
        """``values`` holds every field of the request; ``paths`` (the update mask) says which to apply."""
        changes = file_changes(values, paths)
        async with self._presenter(presentation_id, token) as (uow, p):
            p.update(changes, self.now())
            await uow.commit()
            return p

    @asynccontextmanager
    async def _presenter(self, presentation_id: str,
                         token: str | None) -> AsyncIterator[tuple[CoforUnitOfWork, Presentation]]:
        """A write unit of work on the presenter's own file (the token checked, the file confirmed or lapsed)."""
        try:
            async with self.uow() as uow:
                yield uow, await self._presenter_file(uow, presentation_id, token)
        except KeyTaken:  # two files of one D-U-N-S confirmed at once: the other one won
            raise AlreadyExists("DUNS_ALREADY_PRESENTED", "another file of this D-U-N-S was confirmed first",
                                metadata={}) from None

    async def submit_presentation(self, presentation_id: str, token: str | None) -> Presentation:
        async with self._presenter(presentation_id, token) as (uow, p):
            if p.submit(self.now()):
                uow.publish("cofor.presentation.submitted", ev.PresentationSubmitted(
                    presentation_id=p.id, duns=p.duns, legal_name=p.legal_name, email=p.email,
                    language=p.language, country_code=p.country_code))
                send_mail(uow, mails.presentation_submitted(legal_name=p.legal_name, duns=p.duns,
                                                            presentation_id=p.id),
                          to=[(p.email, "")], language=p.language)
            await uow.commit()
            return p

    async def get_presentation(self, presentation_id: str, token: str | None, *, purchasing: bool) -> Presentation:
        if purchasing:
            async with self.uow(readonly=True) as uow:
                return await self._presenter_file(uow, presentation_id, token, purchasing=True)
        async with self._presenter(presentation_id, token) as (uow, p):
            await uow.commit()  # the first visit confirms the file
            return p
