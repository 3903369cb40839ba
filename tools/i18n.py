"""`make i18n`: keep the gettext catalogues in step with the code, and refuse a message missing in a language.

Two domains, each shipped with its service (the services read the .po files at start; nothing is compiled):
- portal: services/gateway/locale/<lang>/LC_MESSAGES/portal.po, msgids are keys (``nav.home``), extracted from
  ``translate(lang, "key")`` in the gateway's Python and ``_('key')`` in its templates. Keys built at run time
  (``f"error.{reason}"``, ``'outcome.' ~ outcome``) cannot be extracted, so no key is ever dropped here.
- mail: services/support/locale/<lang>/LC_MESSAGES/mail.po, msgids are the English text of the ``{% trans %}``
  blocks of services/support/templates/mail/*.j2; English is the source language (msgstr = msgid), and a msgid no
  template uses any more is dropped.

New msgids are added (empty in French: translate them, then run `make i18n` again, which fails until every
message has a text in every language). ``python -m tools.i18n --check`` changes nothing and fails when a
catalogue is out of date.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from kit.i18n import LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[1]
JINJA_OPTIONS = {"trim_blocks": "true", "lstrip_blocks": "true", "keep_trailing_newline": "true"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Domain:
    name: str
    locale: Path
    sources: Path
    method_map: tuple[tuple[str, str], ...]
    keywords: dict[str, tuple[int, ...] | None]
    source_language: str | None  # the language whose msgstr is the msgid itself
    sort: bool
    keys: re.Pattern[str] | None = None  # the shape of a msgid, when msgids are keys

    def path(self, lang: str) -> Path:
        return catalogue_path(self.locale, lang, self.name)


DOMAINS = (
    Domain("portal", ROOT / "services/gateway/locale", ROOT / "services/gateway",
           (("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")),
           {"_": None, "gettext": None, "translate": (2,)}, None, sort=False,
           keys=re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+")),
    Domain("mail", ROOT / "services/support/locale", ROOT / "services/support/templates/mail",
           (("**.j2", "jinja2.ext:babel_extract"),),
           {"_": None, "gettext": None, "ngettext": (1, 2)}, "en", sort=True),
)


def extracted(domain: Domain) -> dict[str, list[str]]:
    """Every msgid the domain's sources use, with where (file:line)."""
    options = {pattern: JINJA_OPTIONS for pattern, method in domain.method_map if "jinja2" in method}
    found: dict[str, list[str]] = {}
    with contextlib.redirect_stderr(io.StringIO()):  # Babel warns of every f-string key: those are built on purpose
        results = list(extract_from_dir(
            str(domain.sources), domain.method_map, options, keywords=domain.keywords,
            directory_filter=lambda d: "locale" not in Path(d).parts and "__pycache__" not in d))
    for filename, line, message, _comments, _context in results:
        # for keys: "f." + name is the start of a key built at run time, not a key
        if isinstance(message, str) and message and (domain.keys is None or domain.keys.fullmatch(message)):
            found.setdefault(message, []).append(f"{filename}:{line}")
    return found


def read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=path.parent.parent.name, domain=path.stem)


def serialised(catalogue: Catalog, sort: bool) -> bytes:
    out = io.BytesIO()
    write_po(out, catalogue, width=120, no_location=True, sort_output=sort, omit_header=False)
    return out.getvalue()


def ids(catalogue: Catalog) -> Iterable[str]:
    return (m.id for m in catalogue if isinstance(m.id, str) and m.id)


def problems(domain: Domain) -> list[str]:
    """What is wrong with the domain's catalogues as they stand (missing, empty, mismatched placeholders)."""
    used, found = extracted(domain), []
    catalogues = {lang: read(domain.path(lang)) for lang in LANGUAGES}
    for lang, catalogue in catalogues.items():
        known = set(ids(catalogue))
        found += [f"{domain.name}/{lang}: {key!r} is used ({where[0]}) but not in the catalogue"
                  for key, where in used.items() if key not in known]
        if domain.source_language is not None:
            found += [f"{domain.name}/{lang}: {key!r} is used by no template" for key in known if key not in used]
        for message in catalogue:
            if isinstance(message.id, str) and message.id and (not message.string or message.fuzzy):
                found.append(f"{domain.name}/{lang}: {message.id!r} has no {lang} text")
    first, *others = LANGUAGES
    for other in others:
        for key in set(ids(catalogues[first])) ^ set(ids(catalogues[other])):
            found.append(f"{domain.name}: {key!r} is in one language's catalogue only")
        for key in set(ids(catalogues[first])) & set(ids(catalogues[other])):
            a, b = catalogues[first][key], catalogues[other][key]
            if a is not None and b is not None and isinstance(a.string, str) and isinstance(b.string, str) and \
                    sorted(set(PLACEHOLDER.findall(a.string))) != sorted(set(PLACEHOLDER.findall(b.string))):
                found.append(f"{domain.name}: {key!r} has different placeholders in {first} and {other}")
    return found


def update(domain: Domain) -> list[str]:
    """Add the msgids the sources use (and, for a domain of static msgids, drop the unused ones). Returns what
    changed."""
    used, changes = extracted(domain), []
    for lang in LANGUAGES:
        path = domain.path(lang)
        catalogue = read(path)
        known = set(ids(catalogue))
        for key in used:
            if key not in known:
                catalogue.add(key, key if lang == domain.source_language else "",
                              flags=["python-format"] if PLACEHOLDER.search(key) else [])
                changes.append(f"{path.relative_to(ROOT)}: added {key!r}")
        if domain.source_language is not None:
            for key in known - set(used):
                catalogue.delete(key)
                changes.append(f"{path.relative_to(ROOT)}: dropped {key!r}")
        if changes:
            path.write_bytes(serialised(catalogue, domain.sort))
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail when a catalogue is out of date")
    args = parser.parse_args(argv)
    failed = False
    for domain in DOMAINS:
        if not args.check:
            for change in update(domain):
                print(change)
        for problem in problems(domain):
            print(problem, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
