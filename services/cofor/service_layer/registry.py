"""The registry: every cofor use case, by area, behind one object the servicer and the consumers call.

- presentations.py: present your company (the presenter's steps); referencing.py: purchasing's decision on a file;
- access.py: portal-access requests, the signatory's link and terms; access_review.py: purchasing's review,
  signatory of record and reset;
- suppliers.py: sites, status, suspension, reading a supplier, validation, analysis, reactions to identity's events.
Each use case opens one unit of work: rules from the domain, state and events committed together; the database is
reached only through the unit of work's repositories (adapters/repository.py). The List RPCs are reads: cofor/views.py.
"""
from __future__ import annotations

import asyncio
import logging

from kit.aio import sleep_unless

from cofor.service_layer.access import TermsLinkView
from cofor.service_layer.access_review import AccessReview
from cofor.service_layer.base import AddressInput
from cofor.service_layer.referencing import Referencing
from cofor.service_layer.suppliers import Suppliers, Validation

log = logging.getLogger(__name__)


class Registry(Referencing, AccessReview, Suppliers):
    housekeeping_seconds = 300.0

    async def housekeeping(self, stop: asyncio.Event) -> None:
        """Lapse what outlived its lifetime (unconfirmed or idle files, unanswered requests), every few minutes;
        every path that reads one lapses it on sight too, so this only keeps lists and counts true."""
        while not stop.is_set():
            try:
                files, requests = await self.expire_due_presentations(), await self.lapse_due_requests()
                if files or requests:
                    log.info("housekeeping: %d files expired, %d requests lapsed", files, requests)
            except Exception as exc:  # the database away: the next round tries again
                log.warning("housekeeping failed: %r", exc)
            await sleep_unless(stop, self.housekeeping_seconds)


__all__ = ["Registry", "AddressInput", "TermsLinkView", "Validation"]
