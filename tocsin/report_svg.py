"""Incidents per day by severity as a self-contained SVG bar chart: drawn on the server, so a
page, a wiki or a mail can show it with an ``<img>`` and no script.

Every bar is a ``rect`` with a ``title`` (shown on hover and read by screen readers) saying
its day, severity and count; every text is escaped, though today all of it is ours."""

from html import escape

from router.config import Severity
from router.reports import Report

WIDTH = 800
"""Of the plot; the chart adds its margins."""
HEIGHT = 240
LEFT, TOP, BOTTOM, RIGHT = 40, 30, 40, 90
LABELS = 12
"""At most this many day labels under the bars, so a year stays readable."""
COLOURS = {
    Severity.SEV1: "#b91c1c",
    Severity.SEV2: "#ea580c",
    Severity.SEV3: "#ca8a04",
    Severity.SEV4: "#64748b",
}
"""Most severe at the bottom of each stack, in the warmest colour."""


def incidents_chart(report: Report) -> str:
    days = report.per_day
    step = WIDTH / max(len(days), 1)
    bar = max(step * 0.8, 1.0)
    tallest = max((sum(d.by_severity.values()) for d in days), default=0)
    scale = HEIGHT / tallest if tallest else 0.0
    every = -(-len(days) // LABELS) if days else 1
    title = f"Incidents per day, {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + RIGHT}" '
        f'height="{TOP + HEIGHT + BOTTOM}" role="img" aria-label="{_text(title)}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{_text(title)}</title>",
        f'<text x="{LEFT}" y="{TOP - 12}" font-size="13">{_text(title)}</text>',
        _line(LEFT, TOP + HEIGHT, LEFT + WIDTH, TOP + HEIGHT),
        _line(LEFT, TOP, LEFT, TOP + HEIGHT),
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{tallest}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + HEIGHT}" text-anchor="end">0</text>',
    ]
    for n, day in enumerate(days):
        x = LEFT + n * step + (step - bar) / 2
        base = float(TOP + HEIGHT)
        for severity in Severity:
            count = day.by_severity.get(severity, 0)
            if not count:
                continue
            height = count * scale
            base -= height
            label = f"{day.day.isoformat()} {severity.value}: {count}"
            parts.append(
                f'<rect class="bar" data-day="{day.day.isoformat()}" '
                f'data-severity="{_text(severity.value)}" data-count="{count}" '
                f'x="{x:.2f}" y="{base:.2f}" width="{bar:.2f}" height="{height:.2f}" '
                f'fill="{COLOURS[severity]}"><title>{_text(label)}</title></rect>'
            )
        if n % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.2f}" y="{TOP + HEIGHT + 14}" text-anchor="middle">'
                f"{_text(day.day.strftime('%m-%d'))}</text>"
            )
    for n, severity in enumerate(Severity):
        y = TOP + n * 18
        parts.append(
            f'<rect x="{LEFT + WIDTH + 14}" y="{y}" width="12" height="12" '
            f'fill="{COLOURS[severity]}"/>'
            f'<text x="{LEFT + WIDTH + 32}" y="{y + 10}">{_text(severity.value)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#334155"/>'


def _text(text: str) -> str:
    return escape(text, quote=True)
