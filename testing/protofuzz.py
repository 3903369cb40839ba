"""Hypothesis strategies built from protobuf descriptors: a request for any RPC, without writing one by hand.

Every field gets values of its type that mix what hypothesis invents (any Unicode, control characters, empty,
very long, integers at their extremes, unknown enum numbers, random bytes) with *seeds*: known-valid values of the
system under test (existing codes, identifiers, e-mails, tokens...), so that a generated request gets past
validation and reaches the code behind it. Seeds are keyed by field name (see ``seeds_for``).
"""
from __future__ import annotations

import functools
import importlib
import io
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

Seeds = Mapping[str, Sequence[str]]
MAX_DEPTH = 3
INT_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-2**31, 2**31 - 1), FieldDescriptor.TYPE_SINT32: (-2**31, 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-2**31, 2**31 - 1), FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1), FieldDescriptor.TYPE_INT64: (-2**63, 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-2**63, 2**63 - 1), FieldDescriptor.TYPE_SFIXED64: (-2**63, 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1), FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
# Page sizes, batch bounds and the like: the values where limits are usually checked.
INTERESTING_INTS = (0, 1, -1, 2, 10, 50, 100, 101, 999, 1000, 1001, 10_000)


def service_methods(packages: Iterable[str]) -> list[MethodDescriptor]:
    """Every method of every service declared in the generated ``*_pb2`` modules of ``packages``."""
    methods: dict[str, MethodDescriptor] = {}
    for package in packages:
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            if info.name.endswith("_pb2"):
                generated = importlib.import_module(f"{package}.{info.name}")
                for service in generated.DESCRIPTOR.services_by_name.values():
                    for method in service.methods:
                        methods[method.full_name] = method
    return [methods[name] for name in sorted(methods)]


def message_class(descriptor: Descriptor) -> type[Message]:
    return GetMessageClass(descriptor)


@functools.cache
def images() -> dict[str, bytes]:
    """A real small PNG and JPEG, and forged ones: truncated, a header over junk, a decompression bomb."""
    from PIL import Image

    def encode(image: Any, fmt: str) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt)
        return out.getvalue()

    png = encode(Image.new("RGB", (24, 16), (200, 30, 30)), "PNG")
    jpeg = encode(Image.new("RGB", (24, 16), (30, 30, 200)), "JPEG")
    return {"png": png, "jpeg": jpeg, "truncated_png": png[: len(png) // 2], "png_header": png[:16] + b"\0" * 64,
            "bomb_png": encode(Image.new("1", (8000, 6000)), "PNG")}  # 48 Mpx, a few kB


def seeds_for(name: str, seeds: Seeds) -> list[str]:
    """Seeds for a field: those of its name or its singular (``cofors`` → ``cofor``); failing that, those of its
    last and first word (``acceptance_token`` → ``token``, ``head_office_cofor`` → ``cofor``). A value given
    several times is drawn that much more often."""
    words = name.split("_")
    for keys in ([name, name.removesuffix("s")], [words[-1], words[0]]):
        found = [value for key in dict.fromkeys(keys) for value in seeds.get(key, ())]
        if found:
            return found
    return []


def _mutations(values: list[str]) -> st.SearchStrategy[str]:
    """A known value, slightly wrong: other case, blanks around, cut short, one character more."""
    base = st.sampled_from(values)
    return st.one_of(base.map(str.lower), base.map(lambda v: f"  {v} "), base.map(lambda v: v[:-1]),
                     st.tuples(base, st.characters(codec="utf-8")).map("".join))


def _strings(name: str, seeds: Seeds) -> st.SearchStrategy[str]:
    known = seeds_for(name, seeds)
    everything = sorted({v for values in seeds.values() for v in values})  # once each
    options: list[st.SearchStrategy[str]] = []
    if known:
        options += [st.sampled_from(known), st.sampled_from(known), _mutations(known)]
    if everything:
        options.append(st.sampled_from(everything))
    options += [
        st.text(max_size=40),  # any Unicode but surrogates, control characters included
        st.text(alphabet=st.characters(max_codepoint=0x1f), min_size=1, max_size=5),
        st.tuples(st.text(min_size=1, max_size=3), st.sampled_from([257, 1025, 70_000])).map(lambda t: t[0] * t[1]),
        st.just(""),
    ]
    return st.one_of(options)


def _bytes(plausible: bool) -> st.SearchStrategy[bytes]:
    if plausible:
        return st.sampled_from([images()["png"], images()["jpeg"]])
    return st.one_of(st.binary(max_size=64), st.sampled_from(sorted(images().values())), st.just(b""))


def _ints(kind: int, plausible: bool) -> st.SearchStrategy[int]:
    low, high = INT_BOUNDS[kind]
    if plausible:
        return st.sampled_from([v for v in (0, 1, 10, 50, 100) if low <= v <= high])
    edges = [v for v in (*INTERESTING_INTS, low, high, low + 1, high - 1) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _scalar(field: FieldDescriptor, seeds: Seeds, depth: int, siblings: Descriptor,
            plausible: bool) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        known = seeds_for(field.name, seeds)
        return st.sampled_from(known) if plausible and known else _strings(field.name, seeds)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes(plausible)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:  # proto3 enums are open: unknown numbers must be answered too
        assert field.enum_type is not None
        defined = st.sampled_from([v.number for v in field.enum_type.values])
        return defined if plausible else st.one_of(defined, st.sampled_from([-1, 99, 2**31 - 1, -2**31]),
                                                   st.integers(-2**31, 2**31 - 1))
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.floats(width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind in INT_BOUNDS:
        return _ints(kind, plausible)
    assert field.message_type is not None  # the only kind left
    if plausible:
        return _message(field.message_type, seeds, depth + 1, siblings, True)
    return message(field.message_type, seeds, depth=depth + 1, siblings=siblings)


def _field_mask(seeds: Seeds, siblings: Descriptor | None, plausible: bool) -> st.SearchStrategy[Message]:
    """Paths of the request's other message fields (one level deep too), bogus ones, and any text."""
    real: list[str] = []
    for field in siblings.fields if siblings else ():
        if field.message_type is not None and field.message_type is not FieldMask.DESCRIPTOR:
            for inner in field.message_type.fields:
                real.append(inner.name)
                if inner.type == FieldDescriptor.TYPE_MESSAGE and inner.message_type is not None:
                    real += [f"{inner.name}.{deeper.name}" for deeper in inner.message_type.fields]
    if plausible and real:  # an empty mask too: "every field given"
        return st.lists(st.sampled_from(real), max_size=2, unique=True).map(
            lambda paths: FieldMask(paths=paths))
    path = st.one_of(st.sampled_from(real or ["name"]), st.sampled_from(["", "*", "no_such_field", "a.b.c", ".."]),
                     st.text(max_size=20))
    return st.lists(path, max_size=6).map(lambda paths: FieldMask(paths=paths))


def message(descriptor: Descriptor, seeds: Seeds, *, plausible: bool | None = None, depth: int = 0,
            siblings: Descriptor | None = None) -> st.SearchStrategy[Message]:
    """Any instance of the message. Wild ones (``plausible=False``): each field unset or set to anything of its
    type. Plausible ones: every field that has seeds holds one, enums are defined values, nested messages are
    set — requests that pass validation often enough to reach what lies behind it. By default, both."""
    if plausible is None:
        return st.one_of(_message(descriptor, seeds, depth, siblings, False),
                         _message(descriptor, seeds, depth, siblings, True))
    return _message(descriptor, seeds, depth, siblings, plausible)


def _message(descriptor: Descriptor, seeds: Seeds, depth: int, siblings: Descriptor | None,
             plausible: bool) -> st.SearchStrategy[Message]:
    if descriptor.full_name == FieldMask.DESCRIPTOR.full_name:
        return _field_mask(seeds, siblings, plausible)
    cls = message_class(descriptor)
    if depth > MAX_DEPTH:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        value = _scalar(field, seeds, depth, descriptor, plausible)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entry = field.message_type.fields_by_name
            value = st.dictionaries(_scalar(entry["key"], seeds, depth, descriptor, plausible),
                                    _scalar(entry["value"], seeds, depth, descriptor, plausible), max_size=4)
        elif field.is_repeated:
            many = st.lists(value, min_size=1 if plausible else 0, max_size=4)
            if field.type == FieldDescriptor.TYPE_STRING and not plausible:  # around the usual batch limits, cheaply
                many = st.one_of(many, st.tuples(value, st.sampled_from([999, 1000, 1001])).map(
                    lambda t: [t[0]] * t[1]))
            value = many
        seeded = field.type == FieldDescriptor.TYPE_MESSAGE or bool(seeds_for(field.name, seeds))
        parts[field.name] = value if plausible and seeded else st.one_of(st.none(), value)
    return st.fixed_dictionaries(parts).map(lambda values: _build(cls, values))


def _build(cls: type[Message], values: dict[str, Any]) -> Message:
    built = cls()
    for name, value in values.items():
        if value is None:
            continue
        field = built.DESCRIPTOR.fields_by_name[name]
        target = getattr(built, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for k, v in value.items():
                if isinstance(v, Message):
                    target[k].CopyFrom(v)
                else:
                    target[k] = v
        elif field.is_repeated:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.CopyFrom(value)
        else:
            setattr(built, name, value)
    return built
