"""One fuzz case (hardening/fuzz.py): hypothesis draws a request and its caller, the call is made, and a rejected
call's changes are compared with what a rejection may change (hardening/fuzz_state.py)."""
from __future__ import annotations

import asyncio
import uuid

import grpc
from google.protobuf import text_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from hardening.fuzz_scenario import SeededSystem
from hardening.fuzz_state import allowed_on_rejection
from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from testing import protofuzz

CHECK_SCENARIO_EVERY = 25  # cases between checks that the ASL and user sessions still work (repaired if not)
FAILING = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS)


class Fuzzer(SeededSystem):
    """Generated requests for every RPC, one case at a time, each checked."""

    def seeds(self) -> dict[str, list[str]]:
        """Known-valid values: every short text of every table under its column's name (``id`` as
        ``<table>_id``), full COFOR codes made of the sites, the scenario's tokens and passwords."""
        assert self.scenario is not None
        found: dict[str, set[str]] = {}
        for database, snapshot in zip(self.databases, self.snapshots):
            for table, rows in snapshot.items():
                columns = database.tables[table][0]
                for i, column in enumerate(columns):
                    key = f"{table.removesuffix('s')}_id" if column == "id" else column
                    texts = {r[i] for r in rows.values() if isinstance(r[i], str) and 0 < len(r[i]) <= 100}
                    found.setdefault(key, set()).update(texts)
        sites = [key for snapshot in self.snapshots for key in snapshot.get("sites", {})]  # (root, site code)
        found.setdefault("cofor", set()).update(
            code for root, site in sites for code in (root, f"{root}{site}", f"{root}  {site}"))
        found.setdefault("token", set()).update(self.scenario.tokens.values())
        found.setdefault("password", set()).update(self.scenario.passwords.values())
        for key, values in self.extra_seeds.items():
            found.setdefault(key, set()).update(values[-50:])  # the latest tokens
        # Fresh values, for the calls that create something: a new D-U-N-S, a new request id.
        found.setdefault("duns", set()).update(str(10**8 + uuid.uuid4().int % (9 * 10**8)) for _ in range(3))
        found.setdefault("request_id", set()).update(str(uuid.uuid4()) for _ in range(3))
        seeds = {k: sorted(v) for k, v in found.items() if v}
        for key, values in self.scenario.favourites().items():
            seeds[key] = seeds.get(key, []) + [v for v in values if v] * 4
        return seeds

    # ---- one case -------------------------------------------------------------------------------------------

    def metadata(self, caller: str, bearer: str, garbage: str, client: str | None) -> list[tuple[str, str]]:
        assert self.scenario is not None
        meta = []
        if caller in self.tokens:
            meta.append((SERVICE_TOKEN_KEY, self.tokens[caller]))
        elif caller == "forged":
            meta.append((SERVICE_TOKEN_KEY, garbage or "forged"))
        if bearer in self.scenario.tokens:
            meta.append((AUTHORIZATION_KEY, f"Bearer {self.scenario.tokens[bearer]}"))
        elif bearer == "garbage":
            meta.append((AUTHORIZATION_KEY, f"Bearer {garbage}"))
        elif bearer == "scheme":
            meta.append((AUTHORIZATION_KEY, garbage))
        if client is not None:
            meta.append((CLIENT_ADDRESS_KEY, client))
        return meta

    async def case(self, method: MethodDescriptor, request: Message, drawn: tuple[str, str, str, str | None]) -> None:
        name = self.last_method = f"{method.containing_service.name}.{method.name}"
        self.since_check += 1
        if self.since_check >= CHECK_SCENARIO_EVERY:
            await self.ensure_scenario()
        if self.dirty:
            await self.settle()
            self.take_snapshots()
            self.dirty = False
        metadata = self.metadata(*drawn)
        self.errors.records.clear()
        details = ""
        try:
            reply = await self.call(method)(request, metadata=metadata, timeout=60)
            code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details() or ""
        self.outcome.cases[name] += 1
        self.outcome.statuses[code.name] += 1
        shown = (f"{name} -> {code.name}\n  metadata: {[(k, v[:40]) for k, v in metadata]}\n"
                 f"  request: {text_format.MessageToString(request, as_one_line=True)[:1500]}")
        if code in FAILING:
            problem = f"{shown}\n  details: {details}\n{self.errors.text()}"
            print(f"FUZZ FAILURE {problem}", flush=True)
            self.outcome.internal.append(problem)
        if code == grpc.StatusCode.OK:
            self.outcome.ok[name] += 1
            for f, value in reply.ListFields():  # fresh tokens join the seeds (presenter, session, page)
                if f.name.endswith("token") and isinstance(value, str) and value:
                    key = "page_token" if f.name == "next_page_token" else "token"
                    self.extra_seeds.setdefault(key, []).append(value)
            self.dirty = True
            return
        versions = [d.version() for d in self.databases]
        if versions == self.versions:
            return  # nothing was committed anywhere
        before, self.snapshots, self.versions = self.snapshots, [d.read() for d in self.databases], versions
        changes = [c for d, old, new in zip(self.databases, before, self.snapshots) for c in d.changes(old, new)]
        if changes:
            self.dirty = True  # its events (allowed or not) must flow before the next comparison
        refused = [c for c in changes if not allowed_on_rejection(name, c)]
        if refused:
            problem = f"{shown}\n  changed: {', '.join(refused)}"
            print(f"FUZZ STATE CHANGE ON REJECTION {problem}", flush=True)
            self.outcome.state_changes.append(problem)

    def drive(self, loop: asyncio.AbstractEventLoop, method: MethodDescriptor, seeds: dict[str, list[str]],
              examples: int, derandomize: bool, seed_value: int | None) -> None:
        """Runs in a worker thread: hypothesis draws, the event loop serves and calls, one case at a time."""
        text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=60)
        client = st.one_of(st.none(), st.ip_addresses().map(str), text)
        wild = st.tuples(st.sampled_from(["operator"] * 3 + ["gateway", "none", "forged"]),
                         st.sampled_from(["none", "asl", "user", "presenter", "acceptance", "garbage", "scheme"]),
                         text, client)
        # A plausible request comes from a real caller, mostly with the ASL's session (the console's calls).
        fitting = st.tuples(st.sampled_from(["operator"] * 3 + ["gateway"]),
                            st.sampled_from(["none", "asl", "asl", "asl", "user", "presenter"]), st.just(""), client)
        cases = st.one_of(st.tuples(protofuzz.message(method.input_type, seeds, plausible=False), wild),
                          st.tuples(protofuzz.message(method.input_type, seeds, plausible=True), fitting))

        @given(cases)
        @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        def one(case: tuple[Message, tuple[str, str, str, str | None]]) -> None:
            asyncio.run_coroutine_threadsafe(self.case(method, *case), loop).result()

        (seed(seed_value)(one) if seed_value is not None else one)()

    async def fuzz(self, examples: int, derandomize: bool, seed_value: int | None) -> None:
        loop = asyncio.get_running_loop()
        for method in self.methods.values():
            await self.ensure_scenario()
            self.take_snapshots()
            self.dirty = False
            await asyncio.to_thread(self.drive, loop, method, self.seeds(), examples, derandomize, seed_value)
