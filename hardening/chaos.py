"""Chaos: mixed operations on the three services, each its own OS process (on SQLite files, then again on PostgreSQL),
with one NATS server
and an SMTP sink, while NATS and each service are killed with SIGKILL at random moments and restarted after a short
pause. Afterwards, once everything is quiet, the effects each committed change should have had are derived from the
source databases and compared with what the other services and the sink show: none may be lost or duplicated.

Each hop is checked once: committed source state → downstream state (ASL accounts, access states, the company gate,
disabled and re-enabled accounts, every subscribed event applied, no dead letters) and → mail requests in the
outboxes (by recipient and kind); every mail request → one mail at the sink with its Message-ID. A second copy with
the same Message-ID (a mailer killed between the SMTP server's acceptance and its bookkeeping) is counted apart, as
redelivered: SMTP offers no exactly-once, and the copy is recognisable.

- chaos_load.py: the mixed flows, each call retried through crashes with the same request;
- chaos_checks.py: the expected effects against the observed ones (lost, duplicated, redelivered)."""
from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.report import Report
from hardening.chaos_checks import Effects, Snapshot, check_mails, check_states
from hardening.chaos_load import MAIL_WAIT, Load
from kit.auth import SERVICE_TOKEN_KEY
from kit.sealed import SealKeyPair
from testing.fleet import STUBS, Mailbox, Replicas, ServiceProcess, environment, migrate, nats_users, query
from testing.mailsink import MailSink
from testing.processes import NatsServer, PostgresCluster
from testing.streams import wait_for

from support.settings import SupportSettings

OPERATIONS, QUICK_OPERATIONS = 5_000, 300
IN_FLIGHT, QUICK_IN_FLIGHT = 32, 16  # flows running at once (each has at most one call in flight)
TOKEN = "chaos-operator"
META = [(SERVICE_TOKEN_KEY, TOKEN)]
# The presenter's own calls go through a public caller, as through the gateway: there the link's token is checked
# (a purchasing caller reads any file without it, so it cannot tell a live link from a voided one).
PRESENTER_META = [(SERVICE_TOKEN_KEY, "chaos-presenter")]
# A crashed mailer sends again at most the chunk of mails whose outcome it had not yet recorded (Mailer.chunk).
MAILS_AT_RISK = 4 * SupportSettings.model_fields["smtp_connections"].default
DURABLES = {"COFOR": "identity-cofor-events", "IDENTITY": "cofor-identity-events", "NOTIFICATION": "support-mailer"}
DATABASES = ("sqlite", "postgresql")


@contextmanager
def databases(root: Path, database: str, services: list[str]) -> Iterator[dict[str, str]]:
    """One database per service: SQLite files, or databases of a throwaway PostgreSQL cluster."""
    if database == "sqlite":
        yield {name: f"sqlite+aiosqlite:///{root / f'{name}.sqlite3'}" for name in services}
        return
    cluster = PostgresCluster().start()
    try:
        yield {name: cluster.create_database(f"chaos_{name}") for name in services}
    finally:
        cluster.destroy()


class Chaos:
    """Kills one victim at a time (SIGKILL) when the load reaches a random point, restarts it after a pause."""

    def __init__(self, server: NatsServer, processes: dict[str, ServiceProcess], victims: list[str]) -> None:
        self.server = server
        self.processes = processes
        self.victims = victims
        self.killed: list[str] = []

    async def run(self, load: Load, done: asyncio.Event) -> None:
        moments = sorted(random.uniform(0.1, 0.8) * load.budget for _ in self.victims)
        for victim, moment in zip(self.victims, moments):
            while load.ops < moment and not done.is_set():
                await asyncio.sleep(0.05)
            if victim == "nats":
                self.server.kill()
            else:
                self.processes[victim].kill()
            self.killed.append(f"{victim}@{load.ops}")
            await asyncio.sleep(random.uniform(0.5, 2.0))
            if victim == "nats":
                self.server.start()
            else:
                await self.processes[victim].start().serving()


async def quiet(urls: dict[str, str], nats_server: NatsServer, sink: MailSink, timeout: float) -> bool:
    """True once nothing is left to do anywhere, twice in a row: every outbox row published, every consumer
    caught up (nothing pending, nothing unacknowledged), every spooled mail settled, no new mail at the sink."""
    nc = await nats_server.connect(connect_timeout=2, max_reconnect_attempts=-1)  # the test administrator
    js = nc.jetstream()
    last = (-1, False)

    async def settled() -> bool:
        nonlocal last
        busy = 0
        try:
            for url in urls.values():
                busy += (await query(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))[0][0]
            busy += (await query(urls["support"], "SELECT count(*) FROM mail_spool WHERE status = 'PENDING'"))[0][0]
            for stream, durable in DURABLES.items():
                info = await js.consumer_info(stream, durable)
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
        except Exception:  # NATS still recovering: not quiet yet
            busy = -1
        now = (len(sink.received), busy == 0)
        steady, last = now == last and now[1], now
        return steady
    try:
        await wait_for(settled, timeout=timeout, interval=1.0)
        return True
    except AssertionError:
        return False
    finally:
        await nc.close()


async def run(report: Report, *, quick: bool = False) -> None:
    """The same chaos on each database the services run on: SQLite (the embedded default) and PostgreSQL."""
    for database in DATABASES:
        await run_on(report, database, quick=quick)


async def run_on(report: Report, database: str, *, quick: bool = False) -> None:
    budget = QUICK_OPERATIONS if quick else OPERATIONS
    services = list(STUBS)
    # Over the full run NATS and every service die at least once; the quick run kills NATS and one service.
    victims = ["nats", random.choice(services)] if quick else ["nats", *services, random.choice(["nats", *services])]
    random.shuffle(victims)
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp, databases(Path(tmp), database, services) as urls:
        root = Path(tmp)
        await migrate(urls)
        server = NatsServer(root / "nats", log_file=root / "nats.log", users=nats_users()).start()
        sink = MailSink(root / "mail").start()
        env = environment(nats_url=server.url, seal=SealKeyPair.generate(), smtp_port=sink.port,
                          credentials=f"chaos:purchasing+support+internal:{TOKEN},presenter:public:chaos-presenter")
        processes = {name: ServiceProcess(name, {**env, "DATABASE_URL": urls[name], **server.environment(name)},
                                          root / f"{name}.log").start() for name in services}
        clients: dict[str, Replicas] = {}
        try:
            await asyncio.gather(*(p.serving() for p in processes.values()))
            clients = {name: Replicas(name, [p], META, patience=MAIL_WAIT) for name, p in processes.items()}
            clients["cofor as the presenter"] = Replicas("cofor", [processes["cofor"]], PRESENTER_META,
                                                         patience=MAIL_WAIT)
            load = Load(clients, Mailbox(sink), budget, clients["cofor as the presenter"])
            chaos = Chaos(server, processes, victims)
            done = asyncio.Event()
            started = time.monotonic()
            killing = asyncio.create_task(chaos.run(load, done))
            await asyncio.gather(*(load.worker() for _ in range(QUICK_IN_FLIGHT if quick else IN_FLIGHT)))
            elapsed = time.monotonic() - started
            done.set()
            await killing  # a kill still due happens now, before the checks
            settled = await quiet(urls, server, sink, timeout=120 if quick else 300)
            db = await Snapshot().read(urls)
            effects = Effects()
            check_states(db, effects)
            check_mails(db, sink, effects)
        finally:
            for client in clients.values():
                await client.close()
            for process in processes.values():
                process.stop()
            sink.stop()
            server.stop()

    report.add(f"chaos_{database}_operations", load.ops, "ops", str(budget),
               f"{load.retried} retried through a crash (same request, same request_id), {load.answers_lost} of "
               f"them answered as already done (their first attempt had committed); {Effects.note(load.mix)}")
    report.add(f"chaos_{database}_kills", len(chaos.killed), "kills", str(len(victims)),
               "SIGKILL of victim@operation: " + ", ".join(chaos.killed))
    stalled = f"; flows that waited in vain for a mail: {Effects.note(load.stalled)}" if load.stalled else ""
    quiescent = "" if settled else "; NOT QUIESCENT when checked"
    report.add(f"chaos_{database}_lost_effects", sum(effects.lost.values()), "effects", "0",
               f"of {effects.checked} checked: {Effects.note(effects.lost)}{stalled}{quiescent}")
    report.add(f"chaos_{database}_duplicated_effects", sum(effects.duplicated.values()), "effects", "0",
               Effects.note(effects.duplicated))
    crashes = sum(1 for k in chaos.killed if k.startswith("support@"))
    report.add(f"chaos_{database}_redelivered_mails", sum(effects.redelivered.values()), "mails",
               f"<= {MAILS_AT_RISK * crashes}",
               f"same Message-ID sent again after a mailer crash (at most the {MAILS_AT_RISK} whose outcome was not "
               f"yet recorded, per crash; SMTP has no exactly-once): {Effects.note(effects.redelivered)}")
    report.add(f"chaos_{database}_failed_operations", sum(load.failed.values()), "ops", "0",
               Effects.note(load.failed))
    report.add(f"chaos_{database}_duration", elapsed, "s", "(report)", "the load, kills and restarts included")
    report.add(f"chaos_{database}_operations_per_second", load.ops / elapsed, "ops/s", "(report)")
