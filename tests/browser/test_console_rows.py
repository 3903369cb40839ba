"""The ASL console offers only what identity would do (issue 16): the company's only active ASL is not offered
"Désactiver" nor "Retirer le rôle ASL" on its own row (both would be refused) and is told why; once a second ASL
is named, both are offered again. The console names the company by its legal name."""
from __future__ import annotations

from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from tests.e2e.stack import Stack

from .test_recovery_pages import ASL_PASSWORD, NewVisitor, log_in, open_supplier


async def test_the_only_asl_is_not_offered_what_would_be_refused(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto("/fr/admin")
    legal_name = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=supplier.root))).supplier.legal_name
    assert await page.locator("#users-title").inner_text() == (  # the company by its name, not only its code
        f"Comptes de la société {legal_name} (COFOR {supplier.root})")
    mine, theirs = f"pour {supplier.asl_id}", f"pour {supplier.user_id}"
    assert await page.get_by_role("button", name=f"Désactiver {mine}").count() == 0
    assert await page.get_by_role("button", name=f"Retirer le rôle ASL {mine}").count() == 0
    own = page.locator(f'tr[data-identifier="{supplier.asl_id}"] .sole-asl')
    assert "Seul ASL actif de la société" in await own.inner_text()
    assert await page.get_by_role("button", name=f"Désactiver {theirs}").count() == 1

    await asl.submit(f"Nommer ASL {theirs}")  # a second ASL: the first may now leave (once confirmed)
    assert "pourra créer, modifier, bloquer et désactiver" in await page.locator("#confirm-effect").inner_text()
    await asl.submit("Nommer ASL")
    assert await page.get_by_role("button", name=f"Désactiver {mine}").count() == 1
    assert await page.get_by_role("button", name=f"Retirer le rôle ASL {mine}").count() == 1
    assert await page.locator(".sole-asl").count() == 0
