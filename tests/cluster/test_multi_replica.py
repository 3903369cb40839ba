"""Issue 7's local proof: a 3-node NATS JetStream cluster (replicated streams), one PostgreSQL, two replicas of
every service as separate processes; a mixed load; one NATS node and one replica of each service killed (SIGKILL)
mid-load. Afterwards every committed change has had its effect exactly once and lockout counts are exact."""
from __future__ import annotations

import asyncio
import functools
import random
import re
import uuid
from collections import Counter
from pathlib import Path

import grpc
import nats
import pytest
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.support.v1 import support_service_pb2 as support_api
from portal.support.v1 import ticket_pb2 as ticket_pb

from kit.auth import SERVICE_TOKEN_KEY
from kit.sealed import SealKeyPair
from testing.fleet import STUBS, Mailbox, Replicas, ServiceProcess, environment, migrate, nats_users, query
from testing.mailsink import MailSink
from testing.processes import NatsServer, PostgresCluster, free_port
from testing.streams import wait_for

TOKEN = "cluster-operator"
CREDENTIALS = f"operator:public+purchasing+support+internal:{TOKEN}"
META = [(SERVICE_TOKEN_KEY, TOKEN)]
SUPPLIERS = 8
TICKETS = 8
THRESHOLD = 5


def nats_cluster(tmp: Path) -> list[NatsServer]:
    cluster_ports = [free_port() for _ in range(3)]
    routes = [f"nats://127.0.0.1:{p}" for p in cluster_ports]
    users = nats_users()  # one authorization on every node: a client may land on any of them
    return [NatsServer(tmp / f"nats{i}", cluster_name="portal", cluster_port=cluster_ports[i], routes=routes,
                       server_name=f"n{i}", log_file=tmp / f"nats{i}.log", users=users).start() for i in range(3)]


async def wait_jetstream(urls: str, admin: str) -> None:
    async def ready() -> bool:
        try:
            nc = await nats.connect(urls.split(","), connect_timeout=1, max_reconnect_attempts=0, nkeys_seed_str=admin)
        except Exception:
            return False
        try:
            await nc.jetstream().account_info()
            return True
        except Exception:
            return False
        finally:
            await nc.close()
    await wait_for(ready, timeout=60, interval=0.5)


@pytest.mark.timeout(600)
async def test_two_replicas_of_everything_survive_losing_a_nats_node_and_a_replica_each(
        tmp_path: Path, postgres: PostgresCluster) -> None:
    seal = SealKeyPair.generate()
    servers = nats_cluster(tmp_path)
    urls = ",".join(s.url for s in servers)
    await wait_jetstream(urls, servers[0].seed("admin"))
    await servers[0].provision(replicas=3)  # deploy/'s Job, once the cluster has its quorum: R3 streams
    databases = {name: postgres.create_database(f"c_{name}_{uuid.uuid4().hex[:6]}") for name in STUBS}
    await migrate(databases)
    sink = MailSink(tmp_path / "mail").start()
    mailbox = Mailbox(sink)
    common = environment(nats_url=urls, seal=seal, smtp_port=sink.port, credentials=CREDENTIALS)
    services: dict[str, Replicas] = {}
    try:
        for name in STUBS:
            spawned = [ServiceProcess(name, {**common, "DATABASE_URL": databases[name],
                                             "NATS_NKEY_SEED": servers[0].seed(name)},
                                      tmp_path / f"{name}{i}.log").start() for i in range(2)]
            for process in spawned:
                await process.serving()
            services[name] = Replicas(name, spawned, META)
        c, i_, s = services["cofor"], services["identity"], services["support"]
        nc = await nats.connect(urls.split(","), nkeys_seed_str=servers[0].seed("admin"))

        async def replicated(stream: str) -> bool:  # every copy in place
            try:
                info = await nc.jetstream().stream_info(stream)
            except (nats.js.errors.NotFoundError, nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError):
                return False  # not created yet, or the cluster still electing its leaders
            replicas = info.cluster.replicas if info.cluster is not None else None
            return info.config.num_replicas == 3 and len(replicas or []) == 2  # leader + 2 peers

        for stream in ("COFOR", "IDENTITY", "SUPPORT", "NOTIFICATION"):
            await wait_for(functools.partial(replicated, stream), timeout=60, interval=0.3)
        await nc.close()

        signatories: list[str] = []
        administrators: list[str] = []
        tickets: list[str] = []

        async def mailed_token(presenter: str, file_id: str) -> str:
            """The presenter token is only mailed; a retried start mails a fresh one: the one that opens the file."""
            async def probe() -> str | None:
                for mail in reversed(mailbox.to(presenter)):
                    token = re.search(r"token=([\w-]+)", mail.message.get_content()).group(1)  # type: ignore[union-attr]
                    try:
                        await c.call("GetPresentation", cofor_api.GetPresentationRequest(presentation_id=file_id),
                                     metadata=[("authorization", f"Bearer {token}")])
                        return token
                    except grpc.aio.AioRpcError as error:
                        if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                            raise
                return None
            return str(await wait_for(probe, timeout=60, interval=0.5))

        async def onboard(k: int) -> None:
            presenter = f"presenter{k}@s{k}.example"
            started = await c.call("StartPresentation", cofor_api.StartPresentationRequest(
                duns=str(100_000_000 + k * 7919 + random.randrange(1000)), email=presenter, legal_name=f"Supplier {k}",
                request_id=str(uuid.uuid4())))
            file_id = started.presentation.presentation_id
            bearer = [("authorization", f"Bearer {await mailed_token(presenter, file_id)}")]
            signatory, admin = f"sign{k}@s{k}.example", f"asl{k}@s{k}.example"
            filled = cofor_pb.Presentation(
                presentation_id=file_id, national_registration_number=f"REG{k}", tax_number=f"TAX{k}",
                country_code="FR",
                legal_existence_proof_ref="kbis.pdf", head_office_address=cofor_pb.Address(
                    lines=["1 rue"], postal_code="57000", city="Metz", country_code="FR"),
                legal_representative=cofor_pb.Contact(given_name="S", family_name=f"N{k}", email=signatory,
                                                      job_title="Boss"))
            await c.call("UpdatePresentation", cofor_api.UpdatePresentationRequest(presentation=filled),
                         metadata=bearer)
            await c.call("SubmitPresentation", cofor_api.SubmitPresentationRequest(presentation_id=file_id),
                         metadata=bearer)
            supplier = (await c.call("ReferenceSupplier", cofor_api.ReferenceSupplierRequest(
                presentation_id=file_id, request_id=str(uuid.uuid4())))).supplier
            contact = dict(phone="+33 1 23 45 67 89", job_title="Boss", language="fr")
            await c.call("RequestPortalAccess", cofor_api.RequestPortalAccessRequest(
                cofor=supplier.cofor_root, request_id=str(uuid.uuid4()),
                signatory=cofor_pb.Contact(given_name="S", family_name=f"N{k}", email=signatory, **contact),
                administrator=cofor_pb.Contact(given_name="A", family_name=f"N{k}", email=admin, **contact)))
            signatories.append(signatory)
            administrators.append(admin)
            [mail] = await mailbox.wait(signatory)
            token = re.search(r"token=([\w-]+)", mail.message.get_content()).group(1)  # type: ignore[union-attr]
            try:
                await c.call("AcceptTerms",
                             cofor_api.AcceptTermsRequest(acceptance_token=token, terms_version="2026-12"))
            except grpc.aio.AioRpcError as error:  # a retry after a lost answer finds the link already used
                assert "ACCEPTANCE_TOKEN_USED" in str(error.debug_error_string()) or error.code() == \
                    grpc.StatusCode.FAILED_PRECONDITION

        async def open_ticket(k: int) -> None:
            email = f"requester{k}@t.example"
            await s.call("CreateTicket", support_api.CreateTicketRequest(
                category=ticket_pb.TICKET_CATEGORY_OTHER, subject=f"Question {k}", text="Hello",
                request_id=str(uuid.uuid4()), contact=ticket_pb.TicketContact(
                    name="R", email=email, phone="+33 1 23 45 67 89", company="C", language="en")))
            tickets.append(email)

        first = [asyncio.create_task(onboard(k)) for k in range(SUPPLIERS // 2)]
        first += [asyncio.create_task(open_ticket(k)) for k in range(TICKETS // 2)]
        await asyncio.sleep(1.5)
        # Mid-load: one NATS node and one replica of each service die without warning.
        servers[2].kill()
        for replicas in services.values():
            replicas.processes[1].kill()
        rest = [asyncio.create_task(onboard(k)) for k in range(SUPPLIERS // 2, SUPPLIERS)]
        rest += [asyncio.create_task(open_ticket(k)) for k in range(TICKETS // 2, TICKETS)]
        await asyncio.gather(*first, *rest)

        # Every accepted access request: one ASL (identifier and password mails), access OPEN.
        for admin in administrators:
            await mailbox.wait(admin, 2, timeout=90)
        roots = [r[0] for r in await query(databases["cofor"], "SELECT cofor_root FROM suppliers")]

        async def all_open() -> bool:
            states = await query(databases["cofor"], "SELECT access_state FROM suppliers")
            return [x[0] for x in states] == ["OPEN"] * SUPPLIERS
        await wait_for(all_open, timeout=90, interval=0.5)
        accounts = await query(databases["identity"],
                                "SELECT cofor_root, count(*) FROM accounts GROUP BY cofor_root")
        assert sorted(r[0] for r in accounts) == sorted(roots) and all(r[1] == 1 for r in accounts)

        # Lockout, counted exactly while a replica is gone: account k gets 3 + k wrong guesses.
        identifiers = [r[0] for r in await query(databases["identity"],
                                                  "SELECT identifier FROM accounts ORDER BY identifier")]
        guesses = {ident: 3 + n for n, ident in enumerate(identifiers[:5])}
        await asyncio.gather(*(i_.call("Login", identity_api.LoginRequest(identifier=ident, password=f"wrong {g} {n}"))
                               for ident, count in guesses.items() for n, g in enumerate(range(count))),
                             return_exceptions=True)
        rows = dict((r[0], (r[1], r[2])) for r in await query(
            databases["identity"], "SELECT identifier, failed_attempts, state FROM accounts"))
        for ident, count in guesses.items():
            expected = (min(count, THRESHOLD), "BLOCKED" if count >= THRESHOLD else "ACTIVE")
            assert rows[ident] == expected, (ident, count, rows[ident])

        # Mails: each one exactly once (no loss, no duplicate), despite the kills.
        for address in tickets:
            await mailbox.wait(address, timeout=90)
        await asyncio.sleep(2)  # anything duplicated would arrive meanwhile
        message_ids = Counter(m.message["Message-ID"] for m in sink.received)
        assert [mid for mid, n in message_ids.items() if n > 1] == []
        per_recipient = Counter(r for m in sink.received for r in m.rcpt_tos)
        assert all(per_recipient[a] == 1 for a in signatories), per_recipient
        blocked = {r[0] for r in await query(databases["identity"],
                                             "SELECT email FROM accounts WHERE state = 'BLOCKED'")}
        for address in administrators:  # identifier + temporary password, + the lock notice for blocked ones
            assert per_recipient[address] == 2 + (address in blocked), (address, per_recipient[address])
        assert all(per_recipient[a] == 1 for a in tickets), per_recipient
    finally:
        for replicas in services.values():
            await replicas.close()
        sink.stop()
        for server in servers:
            server.stop()
