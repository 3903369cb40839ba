"""A stand-in service built only from the kit ("notes"), for testing and benchmarking the kit itself."""
from __future__ import annotations

import uuid
from pathlib import Path

from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit import migrations
from kit.db import Database, UnitOfWork
from kit.messaging.envelope import EventContext

MIGRATIONS = Path(__file__).parent / "notes_migrations"


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


class NotesUnitOfWork(UnitOfWork):
    producer = "notes"

    def add_note(self, text: str, subject: str) -> str:
        """The state change and its event, in one transaction."""
        self.session.add(Note(id=str(uuid.uuid4()), text=text))
        return self.publish(subject, StringValue(value=text))


async def migrated_database(url: str) -> Database:
    await migrations.upgrade(url, MIGRATIONS)
    return Database(url)


async def count_notes(db: Database, text: str | None = None) -> int:
    async with db.session(readonly=True) as s, s.begin():
        query = select(func.count()).select_from(Note)
        if text is not None:
            query = query.where(Note.text == text)
        return int(await s.scalar(query) or 0)


async def copy_note(event: StringValue, ctx: EventContext, uow: NotesUnitOfWork) -> None:
    """Consumer handler: apply the event by writing a note (its effect)."""
    uow.session.add(Note(id=str(uuid.uuid4()), text=f"copy:{event.value}"))
