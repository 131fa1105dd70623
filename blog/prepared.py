"""Core statements built once and run straight on the database driver: the per-request reads.

A cached page is answered after one small read (its key: blog.posts.keys). Through the ORM
session that read cost 0.33 ms of CPU here (checking out the connection, BEGIN, SQLAlchemy's
execution machinery, ROLLBACK), against 0.45 ms for Flask's whole constant route; the same SQL
on the driver's connection costs 0.03 ms. So these statements are written with SQLAlchemy Core
(one definition for SQLite and PostgreSQL), compiled once per dialect, and executed on a DBAPI
connection kept for them, with the bind and result conversions of their column types applied
by hand.

SQLAlchemy's events do not see these executions; `observers` does (the tests and the benchmark
count statements with it).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from blog.extensions import db

# Callables given each statement run here (SQL text), for counting; empty in production.
observers: list[Callable[[str], None]] = []


@dataclass
class _Compiled:
    sql: str
    positional: bool
    names: list[str]  # the order of the parameters (positional) or their names
    constants: dict[str, Any]  # values fixed in the statement, already converted
    converters: dict[str, Callable[[Any], Any] | None]  # for the values given per call
    results: list[Callable[[Any], Any] | None]  # per result column


class Prepared:
    """A Core select with named bind parameters, run with run(**values) -> list of tuples.

    Every bind parameter the caller supplies must be a `sa.bindparam(name, type_=...)` with a
    type (its conversion to the driver's form is taken from it); every other parameter is a
    constant of the statement. Expanding IN lists are expanded once, with the sample values.
    """

    def __init__(self, statement: sa.Select, **sample: Any) -> None:
        self.statement = statement
        self.sample = sample
        self._by_dialect: dict[str, _Compiled] = {}

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        expanded = compiled.construct_expanded_state(self.sample)
        types = {name: bind.type for bind, name in compiled.bind_names.items()}
        positional = dialect.paramstyle in ("qmark", "numeric", "format")
        names = list(expanded.positiontup or []) if positional else list(expanded.parameters)
        constants = {}
        for name in names:
            if name in self.sample:
                continue
            base = name.rsplit("_", 1)[0] if name not in types else name
            convert = types.get(base, sa.types.NULLTYPE).bind_processor(dialect)
            value = expanded.parameters[name]
            value = value.value if hasattr(value, "value") else value  # enums: plain values
            constants[name] = convert(value) if convert else value
        converters = {
            name: types[name].dialect_impl(dialect).bind_processor(dialect) for name in self.sample
        }
        results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self.statement.exported_columns  # a select's, or an insert's RETURNING
        ]
        return _Compiled(expanded.statement, positional, names, constants, converters, results)

    def run(self, **values: Any) -> list[tuple]:
        """Execute with values for the named parameters, on this thread's connection kept for
        reads (autocommit: it sees what is committed); return the rows, types converted."""
        engine = db.engine
        compiled, parameters = self._prepare(engine.dialect, values)
        return _fetch(engine, compiled, parameters)

    def run_in_session(self, **values: Any) -> list[tuple]:
        """Execute in the ORM session's transaction (its connection: BEGIN IMMEDIATE for a
        write request on SQLite); return the rows. Pending ORM changes are not flushed first."""
        connection = db.session.connection()
        compiled, parameters = self._prepare(connection.dialect, values)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            rows = cursor.fetchall() if cursor.description else []
        except connection.dialect.loaded_dbapi.Error as error:
            base = connection.dialect.loaded_dbapi.Error
            raise sa.exc.DBAPIError.instance(compiled.sql, parameters, error, base) from error
        finally:
            cursor.close()
        return _converted(rows, compiled)

    def _prepare(self, dialect: sa.Dialect, values: dict[str, Any]) -> tuple[_Compiled, Any]:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = self._compile(dialect)
        given = {}
        for name, value in values.items():
            convert = compiled.converters[name]
            given[name] = convert(value) if convert is not None else value
        if compiled.positional:
            parameters: Any = [
                given[n] if n in given else compiled.constants[n] for n in compiled.names
            ]
        else:
            parameters = {**compiled.constants, **given}
        for observe in observers:
            observe(compiled.sql)
        return compiled, parameters


def _fetch(engine: sa.Engine, compiled: _Compiled, parameters: Any) -> list[tuple]:
    for attempt in (1, 2):
        reader = None
        try:
            reader = _reader(engine)
            reader.cursor.execute(compiled.sql, parameters)
            rows = reader.cursor.fetchall()
            break
        except engine.dialect.loaded_dbapi.Error as error:
            gone = reader is not None and engine.dialect.is_disconnect(
                error, reader.connection, reader.cursor
            )
            _drop(engine)
            if gone and attempt == 1:
                continue  # the server restarted or dropped us: once more, on a new connection
            # The exception SQLAlchemy would raise, so blog.errors answers an outage with 503.
            raise sa.exc.DBAPIError.instance(
                compiled.sql, parameters, error, engine.dialect.loaded_dbapi.Error
            ) from error
    return _converted(rows, compiled)


def _converted(rows: list, compiled: _Compiled) -> list[tuple]:
    if not any(compiled.results):
        return [tuple(row) for row in rows]
    return [_convert(row, compiled.results) for row in rows]


@dataclass
class _Reader:
    connection: Any  # SQLAlchemy's proxy of the driver connection, detached from the pool
    cursor: Any


# One connection per engine and thread, kept for these reads: checking one out of the pool and
# rolling it back on return cost as much as the query. They read in autocommit (each statement
# sees what is committed), and close when their engine is disposed.
_readers: weakref.WeakKeyDictionary[sa.Engine, threading.local] = weakref.WeakKeyDictionary()
_open: weakref.WeakKeyDictionary[sa.Engine, list[_Reader]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _reader(engine: sa.Engine) -> _Reader:
    local = _readers.get(engine)
    reader = getattr(local, "reader", None) if local is not None else None
    if reader is not None:
        return reader
    with _lock:
        if engine not in _readers:
            _readers[engine] = threading.local()
            _open[engine] = opened = []
            sa.event.listen(engine, "engine_disposed", _close_all)
            # An engine dropped without dispose() closes them too (psycopg warns otherwise).
            weakref.finalize(engine, _close_each, opened)
        local = _readers[engine]
    connection = engine.raw_connection()
    connection.detach()
    driver = connection.driver_connection
    if hasattr(driver, "autocommit"):  # psycopg: no transaction left open between reads
        driver.autocommit = True
    reader = _Reader(connection, connection.cursor())
    local.reader = reader
    with _lock:
        _open[engine].append(reader)
    return reader


def _drop(engine: sa.Engine) -> None:
    """Close this thread's connection for engine (after an error): the next read opens another."""
    local = _readers.get(engine)
    reader = getattr(local, "reader", None) if local is not None else None
    if reader is None:
        return
    local.reader = None
    with _lock:
        if reader in _open.get(engine, []):
            _open[engine].remove(reader)
    _close(reader)


def _close_all(engine: sa.Engine) -> None:
    with _lock:
        readers = list(_open.get(engine, []))
        _open.get(engine, []).clear()
        _readers[engine] = threading.local()
    _close_each(readers)


def _close_each(readers: list[_Reader]) -> None:
    for reader in list(readers):
        _close(reader)
    readers.clear()


def _close(reader: _Reader) -> None:
    try:
        reader.cursor.close()
        reader.connection.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone anyway
        pass


def _convert(row: Iterable, processors: list) -> tuple:
    return tuple(p(v) if p is not None else v for p, v in zip(processors, row, strict=True))
