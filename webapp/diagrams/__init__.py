"""Flow version diagrams: layered layout, CSP-safe SVG, version diffs and text alternatives (no Flask)."""

from __future__ import annotations

from webapp.diagrams.diff import (
    DiffLine,
    StepChange,
    TransitionChange,
    VersionDiff,
    diff_versions,
    template_lines,
)
from webapp.diagrams.layout import EdgeRoute, LabelBox, Layout, NodeBox, layout
from webapp.diagrams.svg import format_duration, render_svg
from webapp.diagrams.text import OutlineItem, OutlineLink, describe, outline

__all__ = [
    "DiffLine",
    "EdgeRoute",
    "LabelBox",
    "Layout",
    "NodeBox",
    "OutlineItem",
    "OutlineLink",
    "StepChange",
    "TransitionChange",
    "VersionDiff",
    "describe",
    "diff_versions",
    "format_duration",
    "layout",
    "outline",
    "render_svg",
    "template_lines",
]
