"""What an ASL (own company) and support staff (any company, agent and reason) do about second factors: reset an
account's factors after a lost phone, and the company's policy "second factor required for every user"."""
from __future__ import annotations

from kit.errors import PermissionDenied

from identity.domain import events as ev
from identity.domain.accounts import Account
from identity.service_layer.common import Tools
from identity.service_layer.console_access import Actor, acting, caller_not_allowed, locked_target, note


class FactorAdministration:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def reset(self, actor: Actor, identifier: str, reason: str = "") -> Account:
        """Every factor of the account removed, its sessions ended, the holder told; it enrols again at the next
        login when a factor is required of it. Never an ASL's own (a stolen ASL session must not strip the
        account's factor): another ASL or support does it."""
        detail = note(actor, reason)
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            account, me = await locked_target(uow, actor, identifier)
            if me is not None and me.identifier == account.identifier:
                raise PermissionDenied("SELF_RESET_REFUSED", "ask another ASL or support to reset your own factors")
            await uow.factors.remove_all(account.identifier)
            actor_name = "support" if actor.is_support else (me.display_name if me else actor.name)
            account.record(ev.SecondFactorsReset, now, actor=actor.name, actor_name=actor_name, detail=detail)
            await uow.commit()
            return account

    async def set_policy(self, actor: Actor, required: bool) -> bool:
        if actor.is_support or actor.cofor_root is None:
            raise caller_not_allowed()
        now = self.tools.clock()
        async with self.tools.uow(client=actor.client) as uow:
            await uow.companies.lock(actor.cofor_root)
            me = await acting(uow, actor)
            assert me is not None
            if await uow.factors.company_requires(actor.cofor_root) != required:
                await uow.factors.set_company_policy(actor.cofor_root, required, now)
                me.record(ev.SecondFactorPolicyChanged, now, required=required,
                          detail="second factor required of every user" if required else "second factor optional")
                if required:  # their sessions were opened without one: each enrols at the next login
                    members = [a.identifier for a in await uow.accounts.of_company(actor.cofor_root)]
                    await uow.end_sessions(await uow.factors.without_factor(members), now)
                await uow.commit()
        return required
