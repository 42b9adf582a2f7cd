"""What the flow pages show, assembled from page_queries: flow list rows, counts, sparklines, stamps."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Request

from webapp.domain.statuses import ACTIVE, ALL_STATUSES
from webapp.extensions import db
from webapp.flows import page_queries as pq
from webapp.pages import PAGE_SIZE, Stamp, micros, window_stamp

SPARK_HOURS = 24


@dataclass
class FlowRow:
    """One row of the flow list."""

    id: str
    name: str
    description: str | None
    state: str
    version_number: int | None
    published_at: datetime | None
    steps: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    last_session_at: datetime | None = None
    spark: list[int] = field(default_factory=lambda: [0] * SPARK_HOURS)

    @property
    def active(self) -> bool:
        return any(self.counts.get(s) for s in ACTIVE)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def spark_total(self) -> int:
        return sum(self.spark)

    @property
    def rev(self) -> str:
        """Fingerprint what the row shows, so an identical re-sent row is not swapped again."""
        raw = repr((self.state, self.version_number, self.steps, sorted(self.counts.items()), self.spark))
        return hashlib.sha1((raw + str(micros(self.last_session_at))).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ListFilters:
    """The flow list's query string: search, state tab and page."""

    q: str
    state: str
    page: int

    @classmethod
    def from_request(cls, request: Request) -> ListFilters:
        """Read the filters, ignoring what does not make sense."""
        state = request.args.get("state", "")
        return cls(
            q=request.args.get("q", "").strip()[:200],
            state=state if state in pq.FLOW_STATES else "",
            page=page_arg(request),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Return the query string arguments (without defaults), with `changes` applied."""
        values = {"q": self.q, "state": self.state, "page": self.page, **changes}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == 1)}


def page_arg(request: Request) -> int:
    """Read ?page= as a positive int (1 when absent or bad)."""
    try:
        return max(1, min(int(request.args.get("page", "1")), 100_000))
    except ValueError:
        return 1


def _state(row: Any) -> str:
    return pq.FLOW_STATES[int(row.rank)]


def flow_rows(org_id: str, rows: Sequence[Any], now: datetime | None = None) -> list[FlowRow]:
    """Build flow list rows: counts per status, last session, 24 h sparkline and step counts, 4 statements."""
    now = now or datetime.now(UTC)
    out = {
        r.id: FlowRow(r.id, r.name, r.description, _state(r), r.version_number, r.published_at) for r in rows
    }
    if not out:
        return []
    ids = list(out)
    for flow_id, status, n in db.session.execute(pq.session_status_counts(org_id, ids)):
        out[flow_id].counts[status] = int(n)
    for flow_id, created_at in db.session.execute(pq.last_session_times(org_id, ids)):
        out[flow_id].last_session_at = created_at
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=SPARK_HOURS - 1)
    for flow_id, hour, n in db.session.execute(pq.sessions_per_hour(org_id, ids, start)):
        index = int((_hour(hour) - start).total_seconds() // 3600)
        if 0 <= index < SPARK_HOURS:
            out[flow_id].spark[index] += int(n)
    version_ids = {r.current_version_id: r.id for r in rows if r.current_version_id}
    for version_id, n in db.session.execute(pq.version_step_counts(version_ids)):
        out[version_ids[version_id]].steps = int(n)
    return list(out.values())


def _hour(text: str) -> datetime:
    return datetime.strptime(text[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


@dataclass
class FlowList:
    """Everything the flow list page shows."""

    filters: ListFilters
    rows: list[FlowRow]
    state_counts: dict[str, int]
    total: int
    pages: int
    stamp: Stamp
    watched: list[str] = field(default_factory=list)
    page_size: int = PAGE_SIZE

    @property
    def flow_ids(self) -> str:
        """The flows the page's poll watches: the ones it shows."""
        return ",".join(self.watched)


def flow_list(org_id: str, filters: ListFilters) -> FlowList:
    """Load one page of the flow list with its counts and the poll stamp."""
    state_rows = db.session.execute(pq.flow_state_counts(org_id, filters.q))
    counts = {pq.FLOW_STATES[int(r.rank)]: int(r.n) for r in state_rows}
    total = counts.get(filters.state, 0) if filters.state else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    rows = db.session.execute(
        pq.flow_list_rows(org_id, filters.q, filters.state).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    flows = flow_rows(org_id, rows)
    ids = [f.id for f in flows]
    return FlowList(
        filters=ListFilters(filters.q, filters.state, page),
        rows=flows,
        state_counts=counts,
        total=total,
        pages=pages,
        stamp=list_stamp(org_id, ids),
        watched=ids,
    )


def list_stamp(org_id: str, flow_ids: list[str]) -> Stamp:
    """Compute the flow list's current stamp."""
    newest = db.session.execute(pq.newest_session_change(org_id, flow_ids)).scalar() if flow_ids else None
    return window_stamp(pq.flow_list_window(org_id, flow_ids), micros(newest))


def parse_ids(raw: str | None, limit: int = 200) -> list[str]:
    """Read a comma-separated id list from a poll (bounded)."""
    return [part for part in (raw or "").split(",") if 0 < len(part) <= 64][:limit]


STATUS_ORDER = ALL_STATUSES


# The flow page -------------------------------------------------------------------------------------

ACTIVE_FILTER = "ACTIVE"


@dataclass(frozen=True)
class FlowArgs:
    """The flow page's query string: the diagram's version, compare/heat/step, and the session filters."""

    version: str = ""
    compare: bool = False
    heat: bool = False
    step: str = ""
    status: str = ""
    sv: str = ""
    page: int = 1

    @classmethod
    def from_request(cls, request: Request) -> FlowArgs:
        """Read the flow page's arguments, dropping what cannot be valid."""
        status = request.args.get("status", "").upper()
        return cls(
            version=_uuidish(request.args.get("version")),
            compare=request.args.get("compare") == "1",
            heat=request.args.get("heat") == "1",
            step=_uuidish(request.args.get("step")),
            status=status if status in ALL_STATUSES or status == ACTIVE_FILTER else "",
            sv=_uuidish(request.args.get("sv")),
            page=page_arg(request),
        )

    @property
    def statuses(self) -> list[str]:
        """The session statuses the table shows ([] for all)."""
        if self.status == ACTIVE_FILTER:
            return sorted(ACTIVE)
        return [self.status] if self.status else []

    def args(self, **changes: Any) -> dict[str, Any]:
        """Return query string arguments without defaults, with `changes` applied."""
        values = {**self.__dict__, **changes}
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key in ("compare", "heat"):
                if value:
                    out[key] = "1"
            elif value and not (key == "page" and value == 1):
                out[key] = value
        return out


def _uuidish(value: str | None) -> str:
    value = (value or "").strip()
    return value if 0 < len(value) <= 64 and all(c in "0123456789abcdef-" for c in value.lower()) else ""
