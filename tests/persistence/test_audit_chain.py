"""The audit trail's hash chain on both backends: intact, changed, removed, reordered."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import delete, select, update

from task_station.domain.audit import GENESIS_HASH, AuditQuery, Face, acting_through
from task_station.persistence import Database
from task_station.persistence.models import AuditEventRow
from task_station.redaction import forget_secrets, remember_secret

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _fill(database: Database, count: int = 5) -> None:
    for i in range(count):
        database.audit.record(
            T0 + timedelta(seconds=i), "alice", f"bot.step{i}", f"bot-{i}", f"step {i}",
            before={"status": "stopped", "n": i}, after={"status": "running", "n": i},
        )  # fmt: skip


def _ids(database: Database) -> list[int]:
    with database.engine.begin() as connection:
        return list(connection.scalars(select(AuditEventRow.id).order_by(AuditEventRow.id)))


def test_untouched_chain_verifies_and_links_every_event(database: Database) -> None:
    _fill(database)
    report = database.audit.verify()
    assert report.ok and report.checked == 5
    events = list(database.audit.events())
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert report.last_hash == events[-1].hash
    assert events[0].before == '{"n":0,"status":"stopped"}'  # canonical JSON


def test_changed_detail_is_detected_at_that_event(database: Database) -> None:
    _fill(database)
    third = _ids(database)[2]
    with database.engine.begin() as connection:
        statement = update(AuditEventRow).where(AuditEventRow.id == third)
        connection.execute(statement.values(detail="step 2 (edited)"))
    report = database.audit.verify()
    assert not report.ok and report.first_break is not None
    assert report.first_break.event_id == third
    assert "changed" in report.first_break.reason
    assert f"event {third}" in report.describe()


def test_changed_after_state_is_detected(database: Database) -> None:
    _fill(database)
    first = _ids(database)[0]
    with database.engine.begin() as connection:
        statement = update(AuditEventRow).where(AuditEventRow.id == first)
        connection.execute(statement.values(after='{"n":0,"status":"stopped"}'))
    report = database.audit.verify()
    assert report.first_break is not None and report.first_break.event_id == first


def test_removed_event_is_detected_at_the_next_one(database: Database) -> None:
    _fill(database)
    ids = _ids(database)
    with database.engine.begin() as connection:
        connection.execute(delete(AuditEventRow).where(AuditEventRow.id == ids[1]))
    report = database.audit.verify()
    assert report.first_break is not None and report.first_break.event_id == ids[2]
    assert "removed" in report.first_break.reason


def test_reordered_events_are_detected(database: Database) -> None:
    _fill(database)
    a, b = _ids(database)[1:3]
    with database.engine.begin() as connection:
        rows = {
            row.id: row
            for row in connection.execute(
                select(AuditEventRow.__table__).where(AuditEventRow.id.in_([a, b]))
            )
        }
        # swap everything but the ids: the rows trade places in the chain
        for target, source in ((a, rows[b]), (b, rows[a])):
            values = {k: v for k, v in source._mapping.items() if k != "id"}
            values["hash"] = f"tmp-{target}"  # the unique hashes cannot swap in one step
            connection.execute(
                update(AuditEventRow).where(AuditEventRow.id == target).values(values)
            )
        connection.execute(
            update(AuditEventRow).where(AuditEventRow.id == a).values(hash=rows[b].hash)
        )
        connection.execute(
            update(AuditEventRow).where(AuditEventRow.id == b).values(hash=rows[a].hash)
        )
    report = database.audit.verify()
    assert report.first_break is not None and report.first_break.event_id == a


def test_face_comes_from_the_acting_face(database: Database) -> None:
    database.audit.record(T0, "sys", "boot", "station")
    with acting_through(Face.API):
        database.audit.record(T0, "alice", "bot.create", "b1")
    with acting_through(Face.CLI):
        database.audit.record(T0, "bob", "user.create", "carol")
    faces = [e.face for e in database.audit.events()]
    assert faces == ["system", "api", "cli"]
    api_only = database.audit.search(AuditQuery(face="api"))
    assert [e.actor for e in api_only] == ["alice"]


def test_search_filters_by_user_action_prefix_and_time(database: Database) -> None:
    _fill(database)
    database.audit.record(T0 + timedelta(minutes=5), "bob", "user.create", "carol")
    assert [e.actor for e in database.audit.search(AuditQuery(actor="bob"))] == ["bob"]
    assert len(database.audit.search(AuditQuery(action="bot."))) == 5
    assert database.audit.search(AuditQuery(action="bot_")) == []  # _ is not a wildcard
    window = AuditQuery(since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=3))
    assert [e.action for e in database.audit.search(window)] == ["bot.step2", "bot.step1"]
    assert database.audit.count(AuditQuery(actor="alice")) == 5
    page = database.audit.search(AuditQuery(), limit=2, offset=1)
    assert [e.action for e in page] == ["bot.step4", "bot.step3"]


def test_a_known_secret_never_reaches_an_audit_row(database: Database) -> None:
    secret = "planted-secret-value-123456"
    remember_secret(secret)
    try:
        database.audit.record(
            T0, "alice", "account.add", f"key {secret}", f"api_key={secret}",
            after={"note": f"oops {secret}"},
        )  # fmt: skip
    finally:
        forget_secrets()
    (event,) = database.audit.events()
    assert secret not in f"{event.subject}{event.detail}{event.after}"
    assert database.audit.verify().ok


def test_upgrade_chains_events_recorded_before_the_chain_existed(
    empty_database: Database,
) -> None:
    database = empty_database
    database.upgrade("0009")
    old_table = sa.table(
        "audit_events",
        sa.column("ts", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String()) for name in ("actor", "action", "subject", "detail")),
    )
    rows = [
        {"ts": T0 + timedelta(seconds=i), "actor": "old", "action": "bot.start",
         "subject": f"b{i}", "detail": ""}
        for i in range(3)
    ]  # fmt: skip
    with database.engine.begin() as connection:
        connection.execute(old_table.insert(), rows)
    database.upgrade()
    database.audit.record(T0 + timedelta(minutes=1), "new", "bot.stop", "b0")
    report = database.audit.verify()
    assert report.ok and report.checked == 4
    assert [e.face for e in database.audit.events()] == ["system"] * 4
