"""The company file's fields as the presenter sends them: which the update mask selects, each checked and cleaned
(every bad field reported at once, named by its request path). Pure: no database."""
from __future__ import annotations

from typing import Any

from kit import validation
from kit.errors import Violations

from cofor.domain.access import ContactDetails
from cofor.domain.presentations import REPRESENTATIVE_FIELDS
from cofor.service_layer.base import AddressInput, address_violations, clean_address

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


def file_changes(values: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The domain changes ``paths`` (the update mask; empty = every populated field) ask for, from ``values`` (every
    field of the request). Raises INVALID_ARGUMENT listing every bad field."""
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
    return changes


def _representative_changes(v: Violations, given: ContactDetails, paths: list[str]) -> dict[str, str]:
    """The legal representative's fields named by ``paths`` (each may still be empty: filled in later)."""
    names = [p.split(".", 1)[1] for p in paths if p.startswith("legal_representative.")
             and p.split(".", 1)[1] in REPRESENTATIVE_FIELDS]  # any other path is refused by the mask check
    if "legal_representative" in paths:
        names = list(REPRESENTATIVE_FIELDS)
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
