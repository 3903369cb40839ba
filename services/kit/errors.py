"""Domain errors and their gRPC form (AIP-193).

Service code raises these; one server interceptor turns them into a gRPC status carrying exactly one
``ErrorInfo`` and, where it applies, ``BadRequest`` or ``PreconditionFailure`` details.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    reason: str = ""  # optional UPPER_SNAKE name of the rule that failed (e.g. PASSWORD_TOO_SHORT)


@dataclass(frozen=True)
class PreconditionViolation:
    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base of every error a caller is meant to see. ``reason`` is UPPER_SNAKE and stable."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, reason: str, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}

    def details(self) -> list[any_pb2.Any]:
        return []


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[FieldViolation], reason: str = "INVALID_REQUEST",
                 message: str | None = None) -> None:
        fields = ", ".join(v.field for v in violations)
        super().__init__(reason, message or f"invalid request: {fields}", metadata={"fields": fields})
        self.violations = violations

    def details(self) -> list[any_pb2.Any]:
        bad = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description, reason=v.reason)
            for v in self.violations
        ])
        packed = any_pb2.Any()
        packed.Pack(bad)
        return [packed]


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, reason: str, message: str, *, violations: list[PreconditionViolation] | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(reason, message, metadata=metadata)
        self.violations = violations or []

    def details(self) -> list[any_pb2.Any]:
        if not self.violations:
            return []
        failure = error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type=v.type, subject=v.subject, description=v.description)
            for v in self.violations
        ])
        packed = any_pb2.Any()
        packed.Pack(failure)
        return [packed]


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Aborted(DomainError):
    code = grpc.StatusCode.ABORTED


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE


@dataclass
class Violations:
    """Collects every field violation of a request, so the caller learns all of them at once."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(list(self.items))


def to_status_proto(error: DomainError, domain: str) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=[packed, *error.details()])


def internal_status_proto(domain: str) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain=domain)
    packed = any_pb2.Any()
    packed.Pack(info)
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error", details=[packed])
