"""pgbench custom scripts generated from the statements in sql/ at bench time, so they never drift.

Each workload runs the statements the service runs for that request, with the same parameters, in the
same transaction shape (BEGIN [ISOLATION LEVEL SERIALIZABLE] / statements / COMMIT sent as one pipeline,
as `Database.run` does; a list is two autocommit statements in one pipeline, as `DraftGroups.on_get`).
Placeholders `%(name)s` become pgbench variables `:name`; what the service passes as None becomes the
literal NULL (pgbench variables cannot be NULL), and integers get a `::bigint` cast (psycopg sends them
typed). The create's `lines` JSON is built by format() from pgbench variables: the same JSON text the
service sends (`media.dumps` of the parsed lines), with unique numeric client_event_ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.statements import Statements

from .seed import ARTICLES, BATCHES

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Var:
    """A pgbench variable; `cast` is appended (`:name::cast`)."""

    name: str
    cast: str | None = None


@dataclass(frozen=True)
class Expr:
    """Raw SQL put in place of the placeholder."""

    sql: str


def one_line(sql: str) -> str:
    """The statement without `--` comments, on one line (string literals and identifiers kept as is)."""
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote inside the literal
                        end += 2
                        continue
                    break
                end += 1
            literal = sql[i : end + 1]
            if ch == "'" and re.search(r":[A-Za-z_]", literal):
                raise ValueError(f"pgbench would read a variable inside the literal {literal}")
            out.append(literal)
            i = end + 1
        elif sql.startswith("--", i):
            while i < n and sql[i] != "\n":
                i += 1
        elif ch in "\r\n\t":
            out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return re.sub(r" {2,}", " ", "".join(out)).strip().rstrip(";")


def translate(sql: str, values: dict[str, object]) -> str:
    """`%(name)s` → `:name`, NULL or an expression, as `values` says for each name the statement uses."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for %({name})s")
        value = values[name]
        if value is None:
            return "NULL"
        if isinstance(value, Expr):
            return f"({value.sql})"
        if isinstance(value, Var):
            return f":{value.name}" + (f"::{value.cast}" if value.cast else "")
        raise TypeError(f"{name}: {value!r}")

    text = PLACEHOLDER.sub(replace, one_line(sql))
    one_line(text)  # the check above, now also over the inserted expressions
    return text


def _line_json(n: int) -> tuple[str, list[str]]:
    """One line of the service's `lines` JSON as a format() template and its arguments."""
    template = (
        f'{{"n": {n}, "article_id": %s, "batch_id": %s, "quantity_kg": "%s", "client_event_id": "%s", '
        '"note": null, "draft_type": "WEIGH_IN"}'
    )
    args = [
        f":a{n}::bigint",
        f":b{n}::bigint",
        f"(:q{n}::numeric / 100)::numeric(14,2)",
        f"(:ev::bigint + {n})",
    ]
    return template, args


def lines_expr(count: int = 5) -> Expr:
    parts = [_line_json(n) for n in range(count)]
    template = "[" + ", ".join(p[0] for p in parts) + "]"
    args = [a for p in parts for a in p[1]]
    return Expr(f"format('{template}', {', '.join(args)})")


def _pipeline(*statements: str, begin: str | None) -> list[str]:
    body = [f"{s};" for s in statements]
    if begin:
        body = [f"{begin};", *body, "COMMIT;"]
    return ["\\startpipeline", *body, "\\endpipeline"]


ID = "bigint"


def approve_script(sql: Statements, order: str, counter: str = "na") -> str:
    """One approval of the k-th pool group: `scattered` = lo + k*stride mod size, `recent` = lo + k.
    k counts this client's approvals (the counter variable persists across transactions) interleaved with
    the other clients', so every group is approved once, as wrk's approve.lua does."""
    pick = (
        "\\set group_id :lo + ((:k * :stride) % :size)" if order == "scattered" else "\\set group_id :lo + :k"
    )
    statement = translate(
        sql.approve_group,
        {"group_id": Var("group_id", ID), "draft_id": None, "actor_id": Var("admin_id", ID), "note": None},
    )
    return "\n".join(
        [
            f"\\set {counter} :{counter} + 1",
            f"\\set k (:{counter} - 1) * :clients + :client_id",
            pick,
            *_pipeline(statement, begin="BEGIN ISOLATION LEVEL SERIALIZABLE"),
            "",
        ]
    )


def transfer_script(sql: Statements) -> str:
    """One transfer of one stock line (0.01-0.99 kg) of a random batch between two of the three seeded
    locations, as wrk's transfer.lua draws it: transfer_stock with the `lines` and `request` JSON the
    service builds (service/transfers.py), SERIALIZABLE."""
    line = (
        'format(\'[{"n": 0, "article_id": %s, "batch_id": %s, "bucket": "STOCK", '
        '"quantity_kg": "%s"}]\', :a::bigint, :b::bigint, (:q::numeric / 100)::numeric(14,2))'
    )
    request = (
        'format(\'{"from_location_id": %s, "to_location_id": %s, "note": null, "lines": %s}\', '
        f":f::bigint, :t::bigint, {line})"
    )
    statement = translate(
        sql.transfer_stock,
        {
            "lines": Expr(line),
            "request": Expr(request),
            "from_location_id": Var("f", ID),
            "to_location_id": Var("t", ID),
            "note": None,
            "client_event_id": None,
            "user_id": Var("admin_id", ID),
            "max_balance": Expr("999999999.99"),
        },
    )
    sets = [
        f"\\set b random(1, {BATCHES})",
        f"\\set a ((:b - 1) % {ARTICLES}) + 1",
        "\\set f random(1, 3)",
        "\\set t ((:f + random(0, 1)) % 3) + 1",
        "\\set q random(1, 99)",
    ]
    return "\n".join([*sets, *_pipeline(statement, begin="BEGIN ISOLATION LEVEL SERIALIZABLE"), ""])


def create_script(sql: Statements, counter: str = "nc") -> str:
    """A 5-line group on random batches (each with its own article) with unique client_event_ids, then the
    group detail found by the first line's client_event_id: Drafting.create's two statements."""
    sets = [
        f"\\set {counter} :{counter} + 1",
        f"\\set ev :tag * 100000000000 + :client_id * 1000000000 + :{counter} * 10",
    ]
    for n in range(5):
        sets += [
            f"\\set b{n} random(1, {BATCHES})",
            f"\\set a{n} ((:b{n} - 1) % {ARTICLES}) + 1",
            f"\\set q{n} random(50, 499)",
        ]
    create = translate(
        sql.create_group,
        {
            "lines": lines_expr(),
            "location_id": None,
            "default_location_code": Var("default_location_code"),
            "name": None,
            "name_prefix": Var("name_prefix"),
            "source": Var("source"),
            "user_id": Var("admin_id", ID),
            "whole_group": Var("whole_group"),
        },
    )
    detail = translate(sql.group_detail, _detail(group_id=None, client_event_id=Var("ev", "text")))
    return "\n".join([*sets, *_pipeline(create, detail, begin="BEGIN"), ""])


def _detail(group_id, client_event_id) -> dict:
    return {
        "group_id": group_id,
        "draft_id": None,
        "client_event_id": client_event_id,
        "viewer_id": Var("admin_id", ID),
        "viewer_is_admin": Var("viewer_is_admin"),
    }


def list_statements(sql: Statements) -> tuple[str, str | None, bool]:
    """What DraftGroups.on_get runs for status=DRAFT and no other filter: the unfiltered pending-set
    statement where there is one, else the pending-set statement (no index covers status there), else
    the general one with a status filter; and the separate count statement of schemas whose page does
    not carry its total (None since migration 0007)."""
    counting = next((sql[name] for name in ("count_pending_groups", "count_groups") if name in sql), None)
    for name in ("list_all_pending_groups", "list_pending_groups"):
        if name in sql:
            return sql[name], counting, False
    return sql.list_groups, counting, True


def list_script(sql: Statements) -> str:
    """GET /api/draft-groups?status=DRAFT&limit=50 as an admin: the page (limit + 1 rows) with its total
    (older schemas: the page and the count, two statements in one pipeline)."""
    listing, counting, with_status = list_statements(sql)
    filters = {"source": None, "location_id": None, "created_by": None}
    if with_status:
        filters["status"] = Var("status")
    page = translate(listing, {**filters, "after_id": None, "limit": Var("limit", ID)})
    if counting is None:
        return f"{page};\n"
    count = translate(counting, filters)
    return "\n".join([*_pipeline(page, count, begin=None), ""])


def get_script(sql: Statements) -> str:
    """GET /api/draft-groups/{id} as an admin, id random over the history."""
    detail = translate(sql.group_detail, _detail(group_id=Var("group_id", ID), client_event_id=None))
    return "\n".join(["\\set group_id random(1, :history)", f"{detail};", ""])


def defines(admin_id: int, clients: int, history: int, tag: int, pool: tuple[int, int, int] | None) -> dict:
    """The -D variables every script may use."""
    values = {
        "admin_id": admin_id,
        "clients": clients,
        "history": history,
        "tag": tag,
        "na": 0,
        "nc": 0,
        "viewer_is_admin": "true",
        "whole_group": "true",
        "default_location_code": "13",
        "name_prefix": "AdminDraft",
        "source": "ui_admin",
        "status": "DRAFT",
        "limit": 51,
    }
    if pool:
        values.update(lo=pool[0], size=pool[1], stride=pool[2])
    return values
