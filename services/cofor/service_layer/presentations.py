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
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kit import ratelimit, validation
from kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    Unauthenticated,
    Violations,
)
from kit.notify import Template, request_email

from cofor.domain.access import ContactDetails
from cofor.domain.codes import normalize_duns
from cofor.domain.model import Supplier
from cofor.domain.presentations import UNCONFIRMED_LIFETIME, Presentation, PresentationState
from cofor.service_layer.base import (
    AddressInput,
    RegistryBase,
    address_violations,
    clean_address,
    digest,
    request_id_violation,
)
from cofor.service_layer.unit_of_work import CoforUnitOfWork

START_LIMIT = ratelimit.Limit("start-presentation", 10, 3600)
# The confirmed file's presenter hears of other attempts on the D-U-N-S, but at most once an hour.
CLAIM_NOTICE_LIMIT = ratelimit.Limit("duns-claim-notice", 1, 3600)

UPDATABLE = {
    "legal_name", "national_registration_number", "tax_number", "head_office_address",
    "head_office_address.lines", "head_office_address.postal_code", "head_office_address.city",
    "head_office_address.country_code", "country_code", "legal_existence_proof_ref", "legal_representative",
    *(f"legal_representative.{name}" for name in ("given_name", "family_name", "email", "phone", "job_title",
                                                  "language")),
}
_ADDRESS_ATTR = {"lines": "address_lines", "postal_code": "postal_code", "city": "city",
                 "country_code": "address_country"}
_SIMPLE = ("legal_name", "national_registration_number", "tax_number", "country_code", "legal_existence_proof_ref")


def duns_taken(duns: str) -> AlreadyExists:
    return AlreadyExists("DUNS_ALREADY_PRESENTED", "a company file already exists for this D-U-N-S number",
                         metadata={"duns": duns})


def _representative_changes(v: Violations, given: ContactDetails, paths: list[str]) -> dict[str, str]:
    """The legal representative's fields named by ``paths`` (each may still be empty: filled in later)."""
    names = [p.split(".", 1)[1] for p in paths if p.startswith("legal_representative.")]
    if "legal_representative" in paths:
        names = ["given_name", "family_name", "email", "phone", "job_title", "language"]
    changes: dict[str, str] = {}
    for name in names:
        raw = getattr(given, name)
        value = raw.strip() if name in ("email", "phone") else validation.clean(raw)
        field = f"presentation.legal_representative.{name}"
        if name == "email":
            err = validation.email_error(value, required=False)
        elif name == "phone":
            err = validation.phone_error(value, required=False)
        elif name == "language":
            value = validation.language_of(value) or ""
            err = None if value or not raw.strip() else "must be fr or en"
        else:
            err = validation.text_error(value, required=False, max_length=100)
        if err:
            v.add(field, err)
        changes[f"legal_representative.{name}"] = value
    return changes


class Presentations(RegistryBase):
    async def start_presentation(self, *, duns: str, email: str, legal_name: str, language: str,
                                 request_id: str = "", client: str = "") -> Presentation:
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
            if existing_id := await uow.remembered("StartPresentation", request_id, owner=owner):
                existing = await uow.presentation(existing_id, for_update=True)
                assert existing is not None
                if existing.state == PresentationState.DRAFT and not existing.is_due(now):
                    existing.presenter_token_digest = digest(token)  # the retry's mail carries a fresh token
                    self._mail_started(uow, existing, token)
                    await uow.commit()
                return existing
            if client:
                await ratelimit.enforce(uow.session, START_LIMIT, client)
            if await self._duns_taken(uow, duns, now):
                await uow.commit()  # the notice and the client's count are kept
                raise duns_taken(duns)
            presentation = Presentation(id=str(uuid.uuid4()), duns=duns, email=email, language=lang or "fr",
                                        legal_name=legal_name, presenter_token_digest=digest(token),
                                        created_at=now, updated_at=now)
            uow.session.add(presentation)
            uow.remember("StartPresentation", request_id, presentation.id, owner=owner)
            self._mail_started(uow, presentation, token)
            await uow.commit()
            return presentation

    async def _duns_taken(self, uow: CoforUnitOfWork, duns: str, now: dt.datetime) -> bool:
        """Whether the D-U-N-S belongs to a confirmed, live file (a due one lapses here) or to a supplier. The
        confirmed file's presenter is told of the attempt (at most once an hour)."""
        claimant = await uow.claimant(duns)
        if claimant is not None and claimant.is_due(now):
            claimant.expire(now)
            await uow.session.flush()
            claimant = None
        if claimant is None:
            return await uow.session.scalar(select(Supplier.cofor_root).where(
                Supplier.duns == duns)) is not None  # type: ignore[arg-type]
        if await ratelimit.hit(uow.session, CLAIM_NOTICE_LIMIT, duns) <= CLAIM_NOTICE_LIMIT.max_calls:
            request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_DUNS_CLAIMED,
                          to=[(claimant.email, "")], language=claimant.language,
                          params={"legal_name": claimant.legal_name, "duns": duns, "attempt_time": now.isoformat()})
        return True

    def _mail_started(self, uow: CoforUnitOfWork, p: Presentation, token: str) -> None:
        request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_STARTED, to=[(p.email, "")],
                      language=p.language, params={"legal_name": p.legal_name, "duns": p.duns,
                                                   "presentation_id": p.id,
                                                   "expire_time": (p.created_at + UNCONFIRMED_LIFETIME).isoformat()},
                      secrets={"presenter_token": token}, seal_key=self.seal_key)

    async def _presenter_file(self, uow: CoforUnitOfWork, presentation_id: str, token: str | None,
                              *, purchasing: bool = False) -> Presentation:
        presentation = await uow.presentation(presentation_id, for_update=not uow.readonly) \
            if validation.is_uuid(presentation_id) else None
        if not purchasing:
            # Same answer for an unknown file and a wrong token: the token is the only proof.
            expected = presentation.presenter_token_digest if presentation else digest("x")
            if not token or not hmac.compare_digest(digest(token), expected) or presentation is None:
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
        if await self._duns_taken(uow, p.duns, now):
            p.expire(now)
            await uow.commit()
            raise duns_taken(p.duns)
        p.confirm(now)
        await uow.session.flush()  # a racing confirmation of another file fails here (unique duns_claim)

    async def update_presentation(self, presentation_id: str, token: str | None, values: dict[str, Any],
                                  paths: list[str]) -> Presentation:
        """``values`` holds every field of the request; ``paths`` (the update mask) says which to apply."""
        v = Violations()
        for p in paths:
            if p not in UPDATABLE:
                v.add("update_mask", f"{p} is not an updatable field")
        representative: ContactDetails = values["legal_representative"]
        selected = paths or [name for name in (*_SIMPLE, "head_office_address") if values.get(name)] + [
            f"legal_representative.{k}" for k, value in vars(representative).items() if value]
        address: AddressInput = clean_address(values["head_office_address"])
        changes: dict[str, Any] = _representative_changes(v, representative, selected)
        for path in selected:
            if path == "head_office_address":
                address_violations(v, "presentation.head_office_address", address)
                changes.update(address_lines=address.lines, postal_code=address.postal_code, city=address.city,
                               address_country=address.country_code)
            elif path.startswith("head_office_address."):
                part = path.split(".", 1)[1]
                value = getattr(address, part)
                address_violations(v, "presentation.head_office_address",
                                   AddressInput(**{**{k: [] if k == "lines" else "" for k in _ADDRESS_ATTR},
                                                   part: value}))
                changes[_ADDRESS_ATTR[part]] = value
            elif path in _SIMPLE:
                value = values.get(path, "")
                value = value.strip().upper() if path == "country_code" else validation.clean(value)
                limit = {"legal_existence_proof_ref": 300, "legal_name": 200}.get(path, 100)
                err = validation.country_error(value, required=False) if path == "country_code" else \
                    validation.text_error(value, required=path == "legal_name", max_length=limit)
                if err:
                    v.add(f"presentation.{path}", err)
                changes[path] = value
        v.raise_if_any()
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
        except IntegrityError:  # two files of one D-U-N-S confirmed at once: the other one won
            raise AlreadyExists("DUNS_ALREADY_PRESENTED", "another file of this D-U-N-S was confirmed first",
                                metadata={}) from None

    async def submit_presentation(self, presentation_id: str, token: str | None) -> Presentation:
        async with self._presenter(presentation_id, token) as (uow, p):
            if p.submit(self.now()):
                uow.publish("cofor.presentation.submitted", ev.PresentationSubmitted(
                    presentation_id=p.id, duns=p.duns, legal_name=p.legal_name, email=p.email,
                    language=p.language, country_code=p.country_code))
                request_email(uow, template=Template.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, to=[(p.email, "")],
                              language=p.language,
                              params={"legal_name": p.legal_name, "duns": p.duns, "presentation_id": p.id})
            await uow.commit()
            return p

    async def get_presentation(self, presentation_id: str, token: str | None, *, purchasing: bool) -> Presentation:
        if purchasing:
            async with self.uow(readonly=True) as uow:
                return await self._presenter_file(uow, presentation_id, token, purchasing=True)
        async with self._presenter(presentation_id, token) as (uow, p):
            await uow.commit()  # the first visit confirms the file
            return p
