"""Layered (Sugiyama) layout of a flow version graph, delegated to grandalf, plus our own edge routing."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout, VertexViewer

from webapp.diagrams._text import clean, text_width, truncate

Point = tuple[float, float]
EdgeKind = Literal["forward", "back", "self"]

# Geometry, in SVG user units (px at 100 %). Gaps are generous because edge labels live in them.
NODE_H = 56
NODE_H_DETAIL = 72  # room for a third line (timings / heat figures)
NODE_MIN_W = 152
NODE_MAX_W = 264
NODE_PAD_X = 14
NAME_SIZE = 13.5
NAME_MEASURE = NAME_SIZE * 1.08  # names are semibold, which runs wider than the estimate
BADGE_SIZE = 10.0
LABEL_SIZE = 11.0
LABEL_H = 18
LABEL_PAD_X = 6
LABEL_MAX_W = 180
X_GAP = 56
Y_GAP = 76
DUMMY_W = 18
MARGIN = 20
COMPONENT_GAP = 56
ROW_MAX_W = 1400
CORNER = 10
LANE = 16  # distance of a loop-back lane from the node's right side
LANE_STEP = 7
SELF_LOOP = 30


class _Centred:
    """Give a top-left based box (x, y, w, h declared by the dataclass) its centre."""

    __slots__ = ()

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True, slots=True)
class NodeBox(_Centred):
    """A step's box; x/y are the top-left corner."""

    id: str
    name: str
    label: str  # name truncated to fit; the full name goes in a tooltip
    step_type: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class LabelBox(_Centred):
    """An edge label's background box (top-left based) and its display text."""

    text: str
    full_text: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class EdgeRoute:
    """A transition's route: key points, an SVG path and an optional label box."""

    id: str
    source_id: str
    target_id: str
    kind: EdgeKind
    points: tuple[Point, ...]
    d: str
    label: LabelBox | None


@dataclass(frozen=True)
class Layout:
    """A laid-out graph; coordinates are positive and fit in width x height."""

    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgeRoute, ...]
    width: float
    height: float
    _by_id: dict[str, NodeBox] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {n.id: n for n in self.nodes})

    def node(self, step_id: str) -> NodeBox | None:
        """Return the box of `step_id`, if it was laid out."""
        return self._by_id.get(step_id)


# ---------------------------------------------------------------------------------------------------------
# Path geometry: a path is a list of segments, each ("L", p0, p1) or ("C", p0, c1, c2, p1).

Segment = tuple[Any, ...]


def _curve(p0: Point, p1: Point) -> Segment:
    """Return a cubic with vertical tangents at both ends (reads as 'flowing down')."""
    dy = (p1[1] - p0[1]) / 2
    return ("C", p0, (p0[0], p0[1] + dy), (p1[0], p1[1] - dy), p1)


def _rounded(points: Sequence[Point], radius: float = CORNER) -> list[Segment]:
    """Turn an orthogonal polyline into line segments joined by rounded corners."""
    pts = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    if len(pts) < 2:
        return []
    segs: list[Segment] = []
    cur = pts[0]
    for i in range(1, len(pts) - 1):
        prev, corner, nxt = pts[i - 1], pts[i], pts[i + 1]
        len_in = math.dist(prev, corner)
        len_out = math.dist(corner, nxt)
        r = min(radius, len_in / 2, len_out / 2)
        if r <= 0.5:
            segs.append(("L", cur, corner))
            cur = corner
            continue
        a = _toward(corner, prev, r)
        b = _toward(corner, nxt, r)
        segs.append(("L", cur, a))
        # A quadratic corner expressed as a cubic keeps one segment type for sampling and output.
        c1 = (a[0] + (corner[0] - a[0]) * 2 / 3, a[1] + (corner[1] - a[1]) * 2 / 3)
        c2 = (b[0] + (corner[0] - b[0]) * 2 / 3, b[1] + (corner[1] - b[1]) * 2 / 3)
        segs.append(("C", a, c1, c2, b))
        cur = b
    segs.append(("L", cur, pts[-1]))
    return [s for s in segs if not (s[0] == "L" and s[1] == s[2])]


def _toward(p: Point, q: Point, dist: float) -> Point:
    length = math.dist(p, q) or 1.0
    return (p[0] + (q[0] - p[0]) * dist / length, p[1] + (q[1] - p[1]) * dist / length)


def _sample(seg: Segment, n: int = 8) -> list[Point]:
    if seg[0] == "L":
        return [seg[1], seg[2]]
    p0, c1, c2, p1 = seg[1:]
    out = []
    for i in range(n + 1):
        t = i / n
        mt = 1 - t
        out.append(
            (
                mt**3 * p0[0] + 3 * mt * mt * t * c1[0] + 3 * mt * t * t * c2[0] + t**3 * p1[0],
                mt**3 * p0[1] + 3 * mt * mt * t * c1[1] + 3 * mt * t * t * c2[1] + t**3 * p1[1],
            )
        )
    return out


def _polyline(segs: Sequence[Segment]) -> list[Point]:
    pts: list[Point] = []
    for seg in segs:
        s = _sample(seg)
        pts.extend(s[1:] if pts else s)
    return pts


def _point_at(pts: Sequence[Point], frac: float) -> Point:
    total = sum(math.dist(a, b) for a, b in zip(pts, pts[1:], strict=False))
    want = total * frac
    for a, b in zip(pts, pts[1:], strict=False):
        step = math.dist(a, b)
        if step >= want and step > 0:
            t = want / step
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        want -= step
    return pts[-1]


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _path_d(segs: Sequence[Segment], dx: float, dy: float) -> str:
    if not segs:
        return ""
    start = segs[0][1]
    parts = [f"M{_fmt(start[0] + dx)} {_fmt(start[1] + dy)}"]
    for seg in segs:
        coords = seg[2:]
        cmd = "L" if seg[0] == "L" else "C"
        parts.append(cmd + " ".join(f"{_fmt(x + dx)} {_fmt(y + dy)}" for x, y in coords))
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------
# Input normalisation and caching

StepKey = tuple[str, str, str]  # id, name, step_type
TransitionKey = tuple[str, str, str, str]  # id, source, target, label
LayoutKey = tuple[tuple[StepKey, ...], tuple[TransitionKey, ...], bool]


def layout_key(
    steps: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]], *, detail_line: bool = False
) -> LayoutKey:
    """Return the hashable part of a graph that determines its layout."""
    step_keys: list[StepKey] = []
    seen: set[str] = set()
    for s in steps:
        sid = str(s["id"])
        if sid in seen:  # a duplicate id would make boxes ambiguous; the first one wins
            continue
        seen.add(sid)
        step_keys.append((sid, clean(s.get("name")), str(s.get("step_type") or "PROMPT").upper()))
    trans_keys = tuple(
        (str(t["id"]), str(t["source_step_id"]), str(t["target_step_id"]), clean(t.get("label")))
        for t in transitions
        # Dangling transitions cannot be drawn; validation belongs to the API, not the picture.
        if str(t["source_step_id"]) in seen and str(t["target_step_id"]) in seen
    )
    return (tuple(step_keys), trans_keys, detail_line)


def layout(
    steps: Iterable[Mapping[str, Any]], transitions: Iterable[Mapping[str, Any]], *, detail_line: bool = False
) -> Layout:
    """Lay out steps top-to-bottom in layers; results are cached because versions are immutable."""
    return layout_from_key(layout_key(steps, transitions, detail_line=detail_line))


@lru_cache(maxsize=256)
def layout_from_key(key: LayoutKey) -> Layout:
    """Lay out a graph given as a `layout_key` (cached)."""
    steps, transitions, detail = key
    return _Builder(steps, transitions, NODE_H_DETAIL if detail else NODE_H).build()


# ---------------------------------------------------------------------------------------------------------
# The builder


@dataclass
class _Box:
    """Mutable working box in component-local coordinates."""

    id: str
    name: str
    label: str
    step_type: str
    w: float
    h: float
    reserve: float  # extra room on the left for self-loops and their labels
    vertex: Vertex
    rank: int = 0
    x: float = 0.0  # top-left
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class _Route:
    tid: str
    source: str
    target: str
    kind: EdgeKind
    label: str
    segs: list[Segment] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    label_rect: tuple[float, float, float, float] | None = None


def _label_text(label: str) -> tuple[str, float]:
    text = truncate(label, LABEL_SIZE, LABEL_MAX_W)
    return text, text_width(text, LABEL_SIZE) + 2 * LABEL_PAD_X


def _badge_w(step_type: str) -> float:
    # Badge text is uppercase with letter-spacing, hence the extra per-character allowance.
    return text_width(step_type, BADGE_SIZE) + len(step_type) * 0.8 + 16


class _Grid:
    """A coarse spatial hash so label collision checks stay cheap for big graphs."""

    def __init__(self, cell: float = 120.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[tuple[float, float, float, float]]] = defaultdict(list)

    def _keys(self, r: tuple[float, float, float, float]) -> Iterable[tuple[int, int]]:
        x, y, w, h = r
        for i in range(int(x // self.cell), int((x + w) // self.cell) + 1):
            for j in range(int(y // self.cell), int((y + h) // self.cell) + 1):
                yield (i, j)

    def add(self, r: tuple[float, float, float, float]) -> None:
        for k in self._keys(r):
            self.cells[k].append(r)

    def hits(self, r: tuple[float, float, float, float], pad: float = 3.0) -> bool:
        x, y, w, h = r
        for k in self._keys(r):
            for ox, oy, ow, oh in self.cells.get(k, ()):
                if x < ox + ow + pad and ox < x + w + pad and y < oy + oh + pad and oy < y + h + pad:
                    return True
        return False


class _Builder:
    def __init__(
        self, steps: tuple[StepKey, ...], transitions: tuple[TransitionKey, ...], node_h: int
    ) -> None:
        self.steps = steps
        self.transitions = transitions
        self.node_h = node_h
        self.order = {sid: i for i, (sid, _, _) in enumerate(steps)}

    def build(self) -> Layout:
        if not self.steps:
            return Layout(nodes=(), edges=(), width=2 * MARGIN, height=2 * MARGIN)
        boxes = self._make_boxes()
        pairs: dict[tuple[str, str], Edge] = {}
        for _, src, tgt, _ in self.transitions:
            if src != tgt and (src, tgt) not in pairs:
                pairs[(src, tgt)] = Edge(boxes[src].vertex, boxes[tgt].vertex)
        graph = Graph([b.vertex for b in boxes.values()], list(pairs.values()))

        parts: list[tuple[list[_Box], list[_Route], tuple[float, float, float, float]]] = []
        for core in graph.C:
            comp_boxes, routes, bbox = self._layout_component(core, boxes, pairs)
            parts.append((comp_boxes, routes, bbox))
        # Keep the reader's order: the component holding the earliest step (usually START) comes first.
        parts.sort(key=lambda p: min(self.order[b.id] for b in p[0]))
        return self._pack(parts)

    def _make_boxes(self) -> dict[str, _Box]:
        self_loops: dict[str, list[str]] = defaultdict(list)
        for _, src, tgt, label in self.transitions:
            if src == tgt:
                self_loops[src].append(label)
        boxes: dict[str, _Box] = {}
        for sid, name, step_type in self.steps:
            display = name or "Untitled step"
            label = truncate(display, NAME_MEASURE, NODE_MAX_W - 2 * NODE_PAD_X - 12)
            inner = max(text_width(label, NAME_MEASURE), _badge_w(step_type) + 64)
            if self.node_h == NODE_H_DETAIL:
                inner = max(inner, 168)  # fits "1,234 runs · 12% failed" or "✕ Failed · 1 min 5 s · ×3"
            if step_type in ("START", "END"):
                inner += 12  # pill ends eat into the text area
            w = min(NODE_MAX_W, max(NODE_MIN_W, math.ceil(inner + 2 * NODE_PAD_X)))
            loops = self_loops.get(sid, [])
            reserve = 0.0
            if loops:
                widest = max(_label_text(lbl)[1] if lbl else 0.0 for lbl in loops)
                reserve = SELF_LOOP + LANE_STEP * (len(loops) - 1) + (widest + 8 if widest else 4)
            v = Vertex(sid)
            v.view = VertexViewer(w=w + reserve, h=self.node_h)
            boxes[sid] = _Box(sid, display, label, step_type, w, self.node_h, reserve, v)
        return boxes

    def _layout_component(
        self, core: Any, boxes: dict[str, _Box], pairs: dict[tuple[str, str], Edge]
    ) -> tuple[list[_Box], list[_Route], tuple[float, float, float, float]]:
        verts = sorted(core.sV, key=lambda v: self.order[v.data])
        # Start the cycle-breaking DFS at START steps so loops back to them become the back edges.
        preferred = [v for v in verts if boxes[v.data].step_type == "START"]
        preferred += [v for v in verts if not v.e_in() and v not in preferred]
        preferred += [v for v in verts if v not in preferred]
        core.get_scs_with_feedback(preferred)
        inverted = [e for e in core.sE if e.feedback]
        inv = set(inverted)
        roots = [
            v
            for v in verts
            if not any(e not in inv for e in v.e_in()) and not any(e in inv for e in v.e_out())
        ]
        sug = SugiyamaLayout(core)
        sug.xspace = X_GAP
        sug.yspace = Y_GAP
        sug.init_all(roots=roots, inverted_edges=inverted)
        for layer in sug.layers:
            for v in layer:
                if sug.grx[v].dummy:
                    v.view.w = DUMMY_W  # grandalf sizes dummies like median nodes; lanes need less
        sug.draw(N=1.5)

        # Grandalf's averaged coordinates can crowd neighbours; a sweep per layer restores the spacing.
        for layer in sug.layers:
            ordered = sorted(layer, key=lambda v: sug.grx[v].pos)
            for a, b in zip(ordered, ordered[1:], strict=False):
                need = a.view.xy[0] + (a.view.w + b.view.w) / 2 + X_GAP
                if b.view.xy[0] < need:
                    b.view.xy = (need, b.view.xy[1])

        comp = [boxes[v.data] for v in verts]
        for b in comp:
            v = b.vertex
            cx, cy = v.view.xy
            b.rank = sug.grx[v].rank
            b.x = cx - v.view.w / 2 + b.reserve
            b.y = cy - self.node_h / 2
        routes = self._route(comp, sug, pairs)
        xs: list[float] = []
        ys: list[float] = []
        for b in comp:
            xs += [b.x - b.reserve, b.right]
            ys += [b.y, b.bottom]
        for r in routes:
            for x, y in r.points:
                xs.append(x)
                ys.append(y)
            if r.label_rect:
                lx, ly, lw, lh = r.label_rect
                xs += [lx, lx + lw]
                ys += [ly, ly + lh]
        return comp, routes, (min(xs), min(ys), max(xs), max(ys))

    def _route(
        self, comp: list[_Box], sug: SugiyamaLayout, pairs: dict[tuple[str, str], Edge]
    ) -> list[_Route]:
        by_id = {b.id: b for b in comp}
        pitch = self.node_h + Y_GAP
        ids = set(by_id)
        trans = [t for t in self.transitions if t[1] in ids]
        dup_total: dict[tuple[str, str], int] = defaultdict(int)
        for _, s, t, _ in trans:
            dup_total[(s, t)] += 1
        dup_seen: dict[tuple[str, str], int] = defaultdict(int)

        routes: list[_Route] = []
        # Chains of lane x-positions between source and target, excluding the endpoints themselves.
        chains: dict[str, list[Point]] = {}
        for tid, s, t, label in trans:
            src, tgt = by_id[s], by_id[t]
            if s == t:
                kind: EdgeKind = "self"
            elif src.rank < tgt.rank:
                kind = "forward"
            else:
                kind = "back"
            r = _Route(tid, s, t, kind, label)
            routes.append(r)
            if kind == "self":
                continue
            j = dup_seen[(s, t)]
            dup_seen[(s, t)] += 1
            offset = (j - (dup_total[(s, t)] - 1) / 2) * 8
            ctrl = sug.ctrls.get(pairs[(s, t)], {})
            step = 1 if tgt.rank > src.rank else -1
            chains[tid] = [
                (ctrl[rank].view.xy[0] + offset, ctrl[rank].view.xy[1])
                for rank in range(src.rank + step, tgt.rank, step)
                if rank in ctrl
            ]

        # Spread ports along node sides so parallel and fanned-out edges stay distinguishable.
        out_ports: dict[str, list[tuple[float, int, _Route]]] = defaultdict(list)
        in_ports: dict[str, list[tuple[float, int, _Route]]] = defaultdict(list)
        back_out: dict[str, list[_Route]] = defaultdict(list)
        back_in: dict[str, list[_Route]] = defaultdict(list)
        loops: dict[str, list[_Route]] = defaultdict(list)
        for i, r in enumerate(routes):
            if r.kind == "forward":
                chain = chains[r.tid]
                out_ports[r.source].append((chain[0][0] if chain else by_id[r.target].cx, i, r))
                in_ports[r.target].append((chain[-1][0] if chain else by_id[r.source].cx, i, r))
            elif r.kind == "back":
                back_out[r.source].append(r)
                back_in[r.target].append(r)
            else:
                loops[r.source].append(r)

        def spread(box: _Box, n: int) -> list[float]:
            if n == 1:
                return [box.cx]
            gap = min(16.0, (box.w - 48) / (n - 1))
            return [box.cx + (k - (n - 1) / 2) * gap for k in range(n)]

        src_pt: dict[str, Point] = {}
        tgt_pt: dict[str, Point] = {}
        for sid, lst in out_ports.items():
            lst.sort(key=lambda e: (e[0], e[1]))
            box = by_id[sid]
            for x, (_, _, r) in zip(spread(box, len(lst)), lst, strict=True):
                src_pt[r.tid] = (x, box.bottom)
        for sid, lst in in_ports.items():
            lst.sort(key=lambda e: (e[0], e[1]))
            box = by_id[sid]
            for x, (_, _, r) in zip(spread(box, len(lst)), lst, strict=True):
                tgt_pt[r.tid] = (x, box.y)

        def row_top(rank: int) -> float:
            return rank * pitch

        for r in routes:
            if r.kind != "forward":
                continue
            chain = chains[r.tid]
            pts: list[Point] = [src_pt[r.tid]]
            segs: list[Segment] = []
            cur = src_pt[r.tid]
            for x, y in chain:
                top, bottom = (y - self.node_h / 2, y + self.node_h / 2)
                segs.append(_curve(cur, (x, top)))
                segs.append(("L", (x, top), (x, bottom)))
                pts += [(x, top), (x, bottom)]
                cur = (x, bottom)
            segs.append(_curve(cur, tgt_pt[r.tid]))
            pts.append(tgt_pt[r.tid])
            r.segs, r.points = segs, pts

        # Loop-back edges leave from the right side, run up a lane beside the nodes (through grandalf's
        # dummy slots for long ones) and enter the target from the right, so they never hide forward edges.
        lane_out: dict[str, int] = {}
        lane_in: dict[str, int] = {}
        for outs in back_out.values():
            for k, r in enumerate(outs):
                lane_out[r.tid] = k
        for ins in back_in.values():
            for k, r in enumerate(ins):
                lane_in[r.tid] = k
        for n, r in enumerate(routes):
            if r.kind != "back":
                continue
            src, tgt = by_id[r.source], by_id[r.target]
            ko, ki = lane_out[r.tid], lane_in[r.tid]
            no, ni = len(back_out[r.source]), len(back_in[r.target])
            y0 = src.cy + (ko - (no - 1) / 2) * 8
            y1 = tgt.cy + (ki - (ni - 1) / 2) * 8
            x0 = src.right + LANE + LANE_STEP * ko
            x1 = tgt.right + LANE + LANE_STEP * ki
            nudge = ((n % 5) - 2) * 3  # keeps collinear gap runs of different loops apart
            pts = [(src.right, y0), (x0, y0)]
            gap_y = row_top(src.rank) - Y_GAP / 2 + nudge
            if src.rank == tgt.rank:
                pts += [(x0, gap_y), (x1, gap_y)]
            else:
                pts.append((x0, gap_y))
                for x, y in chains[r.tid]:
                    pts += [(x, gap_y), (x, y + self.node_h / 2), (x, y - self.node_h / 2)]
                    gap_y = y - self.node_h / 2 - Y_GAP / 2 + nudge
                    pts.append((x, gap_y))
                pts.append((x1, gap_y))
            pts += [(x1, y1), (tgt.right, y1)]
            r.points = pts
            r.segs = _rounded(pts)

        for sid, own in loops.items():
            box = by_id[sid]
            for k, r in enumerate(own):
                reach = SELF_LOOP - 8 + LANE_STEP * k
                half = 11 + 3 * k
                pts = [(box.x, box.cy - half), (box.x - reach, box.cy - half)]
                pts += [(box.x - reach, box.cy + half), (box.x, box.cy + half)]
                r.points = pts
                r.segs = _rounded(pts, 8)

        self._place_labels(comp, routes)
        return routes

    def _place_labels(self, comp: list[_Box], routes: list[_Route]) -> None:
        grid = _Grid()
        for b in comp:
            grid.add((b.x, b.y, b.w, b.h))
        loop_count: dict[str, int] = defaultdict(int)
        for r in routes:
            if not r.label:
                continue
            _, w = _label_text(r.label)
            h = LABEL_H
            if r.kind == "self":
                box = next(b for b in comp if b.id == r.source)
                k = loop_count[box.id]
                loop_count[box.id] += 1
                reach = SELF_LOOP - 8 + LANE_STEP * k
                self_rect = (box.x - reach - 4 - w, box.cy - h / 2 + k * (h + 2), w, h)
                r.label_rect = self_rect
                grid.add(self_rect)
                continue
            line = _polyline(r.segs)
            rect: tuple[float, float, float, float] | None = None
            # Try spots along the edge, middle first, and keep the first one that hides nothing.
            for frac in (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8, 0.45, 0.55):
                px, py = _point_at(line, frac)
                cand = (px - w / 2, py - h / 2, w, h)
                if not grid.hits(cand):
                    rect = cand
                    break
            if rect is None:
                px, py = _point_at(line, 0.5)
                rect = (px - w / 2, py - h / 2, w, h)
            r.label_rect = rect
            grid.add(rect)

    def _pack(
        self, parts: list[tuple[list[_Box], list[_Route], tuple[float, float, float, float]]]
    ) -> Layout:
        # Shelf packing: components side by side, wrapping to a new row when a row gets too wide.
        widest = max(bb[2] - bb[0] for _, _, bb in parts)
        row_max = max(ROW_MAX_W, widest)
        x = y = 0.0
        row_h = 0.0
        offsets: list[tuple[float, float]] = []
        for _, _, (x0, y0, x1, y1) in parts:
            w, h = x1 - x0, y1 - y0
            if x > 0 and x + w > row_max:
                x = 0.0
                y += row_h + COMPONENT_GAP
                row_h = 0.0
            offsets.append((MARGIN + x - x0, MARGIN + y - y0))
            x += w + COMPONENT_GAP
            row_h = max(row_h, h)

        nodes: list[NodeBox] = []
        edges: list[EdgeRoute] = []
        width = height = 0.0
        for (comp, routes, (_, _, x1, y1)), (dx, dy) in zip(parts, offsets, strict=True):
            width = max(width, x1 + dx + MARGIN)
            height = max(height, y1 + dy + MARGIN)
            for b in comp:
                nodes.append(NodeBox(b.id, b.name, b.label, b.step_type, b.x + dx, b.y + dy, b.w, b.h))
            for r in routes:
                label = None
                if r.label_rect:
                    lx, ly, lw, lh = r.label_rect
                    text, _ = _label_text(r.label)
                    label = LabelBox(text, r.label, lx + dx, ly + dy, lw, lh)
                pts = tuple((px + dx, py + dy) for px, py in r.points)
                edges.append(
                    EdgeRoute(r.tid, r.source, r.target, r.kind, pts, _path_d(r.segs, dx, dy), label)
                )
        nodes.sort(key=lambda n: self.order[n.id])
        edge_order = {t[0]: i for i, t in enumerate(self.transitions)}
        edges.sort(key=lambda e: edge_order[e.id])
        return Layout(
            nodes=tuple(nodes), edges=tuple(edges), width=math.ceil(width), height=math.ceil(height)
        )
