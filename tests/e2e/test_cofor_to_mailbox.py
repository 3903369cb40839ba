"""Across services: cofor's outbox → JetStream → support's mailer → SMTP. The link in the mail works."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import grpc
import nats
from portal.cofor.v1 import cofor_service_pb2 as api
from portal.cofor.v1 import cofor_service_pb2_grpc
from portal.cofor.v1 import supplier_pb2 as pb

from kit import migrations
from kit.client import ServiceClient
from kit.sealed import SealKeyPair
from testing.mailsink import MailSink
from testing.processes import NatsServer
from testing.streams import wait_for

import cofor.bootstrap
import support.bootstrap
from cofor.settings import CoforSettings
from support.settings import SupportSettings

CREDENTIALS = "gateway:public:gw,purchasing:purchasing:buy"


async def test_access_request_mail_reaches_the_signatory_and_its_link_accepts_the_terms(
        tmp_path: Path, nats_server: NatsServer) -> None:
    seal = SealKeyPair.generate()
    cofor_url = f"sqlite+aiosqlite:///{tmp_path / 'cofor.sqlite3'}"
    support_url = f"sqlite+aiosqlite:///{tmp_path / 'support.sqlite3'}"
    await migrations.upgrade(cofor_url, cofor.bootstrap.MIGRATIONS)
    await migrations.upgrade(support_url, support.bootstrap.MIGRATIONS)
    nc = await nats_server.connect()
    js = nc.jetstream()
    await js.purge_stream("NOTIFICATION")
    try:
        await js.delete_consumer("NOTIFICATION", "support-mailer")
    except nats.js.errors.NotFoundError:
        pass
    with MailSink(tmp_path / "mail") as sink:
        cofor_app = cofor.bootstrap.build_app(CoforSettings(
            grpc_port=0, database_url=cofor_url, **nats_server.settings("cofor"), service_credentials=CREDENTIALS,
            mail_seal_public_key=seal.public_key, shutdown_grace_seconds=0.5))
        support_app = support.bootstrap.build_app(SupportSettings(
            grpc_port=0, database_url=support_url, **nats_server.settings("support"), smtp_port=sink.port,
            mail_seal_private_key=seal.private_key, portal_public_url="https://portal.example",
            shutdown_grace_seconds=0.5))
        await cofor_app.start()
        await support_app.start()
        channel = grpc.aio.insecure_channel(cofor_app.target)
        client = ServiceClient(cofor_service_pb2_grpc.CoforServiceStub(channel),
                               {"gateway": "gw", "purchasing": "buy"})
        try:
            presenter = f"presenter.{uuid.uuid4().hex[:8]}@supplier.example"
            started = await client.StartPresentation(api.StartPresentationRequest(
                duns=str(100000000 + uuid.uuid4().int % 899999999), email=presenter, legal_name="Forges SA"))

            async def mail_to(address: str) -> object:
                return next((m.message for m in sink.received if address in m.rcpt_tos), None)

            resume = await wait_for(lambda: mail_to(presenter), timeout=15)
            token = re.search(r"\?token=([\w-]+)", resume.get_content()).group(1)  # type: ignore[union-attr]
            assert not started.presenter_token  # only the mailed link opens the file
            signatory = f"signatory.{uuid.uuid4().hex[:8]}@supplier.example"
            filled = pb.Presentation(
                presentation_id=started.presentation.presentation_id, national_registration_number="552100554",
                tax_number="FR40303265045", country_code="FR", legal_existence_proof_ref="kbis.pdf",
                head_office_address=pb.Address(lines=["1 rue"], postal_code="57000", city="Metz", country_code="FR"),
                legal_representative=pb.Contact(given_name="Claire", family_name="Martin", email=signatory,
                                                job_title="CEO", language="en"))
            await client.UpdatePresentation(api.UpdatePresentationRequest(presentation=filled), bearer=token)
            await client.SubmitPresentation(api.SubmitPresentationRequest(
                presentation_id=started.presentation.presentation_id), bearer=token)
            supplier = (await client.ReferenceSupplier(api.ReferenceSupplierRequest(
                presentation_id=started.presentation.presentation_id), as_="purchasing")).supplier

            await client.RequestPortalAccess(api.RequestPortalAccessRequest(
                cofor=supplier.cofor_root,
                signatory=pb.Contact(given_name="Claire", family_name="Martin", email=signatory,
                                     phone="+33 1 23 45 67 89", job_title="CEO", language="en"),
                administrator=pb.Contact(given_name="Paul", family_name="Durand", email="paul@supplier.example",
                                         phone="+33 1 23 45 67 80", job_title="IT", language="fr")))
            terms_mail = await wait_for(lambda: mail_to(signatory), timeout=15)
            link = re.search(r"https://portal\.example/en/access/terms\?token=([\w-]+)",
                             terms_mail.get_content())
            assert link is not None
            accepted = await client.AcceptTerms(api.AcceptTermsRequest(acceptance_token=link.group(1),
                                                                       terms_version="2026-12"))
            assert accepted.portal_access_state == pb.PORTAL_ACCESS_STATE_ADMINISTRATOR_PENDING
            # The token never sat in clear in the stream that carried the mail request.
            info = await js.stream_info("NOTIFICATION")
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                assert link.group(1).encode() not in ((await js.get_msg("NOTIFICATION", seq)).data or b"")
        finally:
            await channel.close()
            await cofor_app.stop()
            await support_app.stop()
            await nc.close()
