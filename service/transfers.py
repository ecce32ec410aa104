"""Transfers between locations (SPEC §10): stock or surplus moves from one location to another, every line
or none, in one SERIALIZABLE statement (sql/transfers.sql) that writes its ledger rows too."""

from __future__ import annotations

from decimal import Decimal

from .db import Database
from .errors import ValidationFailed
from .inventory import booking
from .refusals import MAX_BALANCE, refuse
from .stock_shapes import TransferLine
from .validation import quantity

MIN_QUANTITY = Decimal("0.01")
LINE_FIELDS = TransferLine.__struct_fields__
HEADER_FIELDS = ("from_location_id", "to_location_id", "note", "client_event_id", "created_at")


def transfer(
    db: Database,
    user_id: int,
    *,
    from_location_id: int,
    to_location_id: int,
    raw_lines: list[dict],
    note: str | None,
    client_event_id: str | None,
) -> tuple[dict, bool]:
    """(the transfer, created?). Lines of the same batch and bucket are served in line order; a repeated
    client_event_id with the same request answers the first transfer, not created."""
    problems: dict[str, str] = {}
    if from_location_id == to_location_id:
        problems["to_location_id"] = "must differ from from_location_id"
    lines = []
    for n, line in enumerate(raw_lines):
        q = quantity(line["quantity_kg"], f"lines[{n}].quantity_kg", MIN_QUANTITY, MAX_BALANCE, problems)
        bucket = line.get("bucket", "stock").upper()
        lines.append(
            {"n": n, "article_id": line["article_id"], "batch_id": line.get("batch_id"), "bucket": bucket}
            | {"quantity_kg": str(q) if q is not None else None}
        )
    if problems:
        raise ValidationFailed(problems)
    route = {"from_location_id": from_location_id, "to_location_id": to_location_id}
    request = {**route, "note": note, "lines": lines}
    params = {**route, "note": note, **booking(request, lines, client_event_id, user_id)}
    rows = db.write("transfer_stock", params)
    first = rows[0]
    refuse(
        first["outcome"],
        rows=rows,
        problems=[
            {"n": r["line"], "code": r["problem"], "article_id": r["article_id"], "batch_id": r["batch_id"]}
            for r in rows
            if r["problem"]
        ],
        prefix="lines",
        client_event_ids=[client_event_id],
        location_id=to_location_id if first["from_found"] else from_location_id,
        target=(first["range_bucket"] or "").lower(),
        line=first["range_line"],
        batch_id=first["range_batch_id"],
        current_qty=first["current_qty"],
        requested_qty=first["requested_qty"],
    )
    body = {"id": first["transfer_id"], **{field: first[field] for field in HEADER_FIELDS}}
    body["created_by_user_id"] = first["user_id"]
    body["lines"] = [{field: row[field] for field in LINE_FIELDS} for row in rows]
    return body, first["outcome"] == "transferred"
