"""A report's chart as a PNG, for the mail a scheduled report sends (Pillow, no plotting
library): bars of a count per interval (offered calls) on the left scale and, when given, a line
of a percentage (service level) on a 0-100 % right scale."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 720, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 56, 34, 44
_BAR = (96, 140, 200)
_LINE = (214, 96, 40)
_INK = (40, 40, 40)
_GRID = (225, 225, 225)
Font: TypeAlias = ImageFont.ImageFont | ImageFont.FreeTypeFont


@dataclass(frozen=True, slots=True)
class Series:
    """What the chart shows: one label per interval, a count per interval (bars) and, if any, a
    percentage per interval (0-100; None where there is nothing to measure, e.g. no call)."""

    title: str
    labels: Sequence[str]
    bars: Sequence[float]
    bars_name: str
    line: Sequence[float | None] | None = None
    line_name: str = ""


def chart_png(series: Series) -> bytes:
    """The chart of `series` as PNG bytes (an empty frame when it has no interval)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.text((_LEFT, 8), series.title, fill=_INK, font=font)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    top = max([*series.bars, 1.0])
    for step in range(5):  # the grid and the left scale
        y = _TOP + plot_h - plot_h * step / 4
        draw.line([(_LEFT, y), (_LEFT + plot_w, y)], fill=_GRID)
        draw.text((4, y - 6), f"{top * step / 4:.0f}", fill=_INK, font=font)
        if series.line is not None:
            draw.text((_LEFT + plot_w + 6, y - 6), f"{25 * step}%", fill=_INK, font=font)
    count = len(series.bars)
    if count:
        slot = plot_w / count
        _bars(draw, series.bars, top, slot, plot_h)
        if series.line is not None:
            _line(draw, series.line, slot, plot_h)
        _labels(draw, series.labels, slot, font)
    _legend(draw, series, font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _bars(
    draw: ImageDraw.ImageDraw, bars: Sequence[float], top: float, slot: float, h: int
) -> None:
    for i, value in enumerate(bars):
        x0 = _LEFT + i * slot + slot * 0.15
        height = h * max(value, 0.0) / top
        draw.rectangle([(x0, _TOP + h - height), (x0 + slot * 0.7, _TOP + h)], fill=_BAR)


def _line(draw: ImageDraw.ImageDraw, line: Sequence[float | None], slot: float, h: int) -> None:
    points = [
        (_LEFT + i * slot + slot / 2, _TOP + h - h * min(max(v, 0.0), 100.0) / 100)
        for i, v in enumerate(line)
        if v is not None
    ]
    if len(points) > 1:
        draw.line(points, fill=_LINE, width=2)
    for x, y in points:
        draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=_LINE)


def _labels(draw: ImageDraw.ImageDraw, labels: Sequence[str], slot: float, font: Font) -> None:
    every = max(1, round(len(labels) / 8))  # about eight labels, whatever the intervals
    for i in range(0, len(labels), every):
        x = _LEFT + i * slot + slot / 2
        draw.text((x - 16, HEIGHT - _BOTTOM + 6), labels[i], fill=_INK, font=font)


def _legend(draw: ImageDraw.ImageDraw, series: Series, font: Font) -> None:
    x = WIDTH - _RIGHT - 220
    draw.rectangle([(x, 10), (x + 10, 20)], fill=_BAR)
    draw.text((x + 14, 8), series.bars_name, fill=_INK, font=font)
    if series.line is not None:
        draw.line([(x + 110, 15), (x + 124, 15)], fill=_LINE, width=2)
        draw.text((x + 128, 8), series.line_name, fill=_INK, font=font)
