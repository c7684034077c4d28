"""How a report mail shows its figures: the table's rows in the reader's language and the
chart (a PNG drawn with Pillow, sent inside the mail as a CID image: no outside request)."""

import io

from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

CHART_CID = "chart@authsvc"
ROWS = (
    ("mail.sent", lambda: _("Mail sent")),
    ("mail.sent.primary", lambda: _("… by the primary server")),
    ("mail.sent.fallback", lambda: _("… by the fallback server")),
    ("mail.fell_back", lambda: _("Sent by the fallback server")),
    ("mail.failed", lambda: _("Failed attempts")),
    ("mail.failed.rejected", lambda: _("… refused for good (5xx)")),
    ("mail.failed.temporary", lambda: _("… refused for now (4xx)")),
    ("mail.failed.timeout", lambda: _("… timed out")),
    ("mail.failed.connection", lambda: _("… no connection")),
    ("mail.failed.other", lambda: _("… other errors")),
    ("mail.retried", lambda: _("Retried")),
    ("mail.gave_up", lambda: _("Given up (dead letters)")),
    ("codes.issued", lambda: _("Codes issued")),
    ("codes.mailed", lambda: _("Codes mailed")),
    ("codes.used", lambda: _("Codes used")),
    ("code_usage_rate", lambda: _("Code usage rate (of codes mailed)")),
    ("registrations", lambda: _("Registrations")),
    ("sign_ins", lambda: _("Sign-ins")),
    ("sign_in_failures", lambda: _("Failed sign-ins")),
    ("lockouts", lambda: _("Lockouts")),
    ("limited.send", lambda: _("Code sends refused by the limits")),
    ("limited.request", lambda: _("Other requests refused by the limits")),
)


def shown(name, value):
    if name == "code_usage_rate":
        return f"{value * 100:.0f} %" if value is not None else "–"
    return str(value or 0)


def context(ctx):
    """The table (label, cells…) and the words around it, for templates/email/report.*."""
    columns = [day["day"][5:] for day in ctx["days"]] if ctx["kind"] == "weekly" else []
    rows = []
    for name, label in ROWS:
        cells = [shown(name, day.get(name)) for day in ctx["days"]] if columns else []
        rows.append((label(), cells, shown(name, ctx["totals"].get(name))))
    return {"columns": columns, "rows": rows, "chart_cid": CHART_CID,
            "chart_legend": _("Mail sent (blue) and codes used (green) per day")}


def chart_png(days):
    """A small bar chart: mail sent and codes used on each of `days` ([[iso day, sent, used]])."""
    width, height, left, bottom, top = 560, 200, 36, 24, 12
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    peak = max([1] + [max(sent, used) for _day, sent, used in days])
    draw.line([(left, top), (left, height - bottom), (width - 8, height - bottom)], fill="#8c959f")
    draw.text((4, top), str(peak), fill="#57606a", font=font)
    draw.text((4, height - bottom - 10), "0", fill="#57606a", font=font)
    slot = (width - left - 16) / max(1, len(days))
    for index, (day, sent, used) in enumerate(days):
        x = left + 8 + index * slot
        bar = max(4, slot / 3)
        for offset, value, colour in ((0, sent, "#3b82f6"), (bar + 2, used, "#22a06b")):
            y = height - bottom - (height - bottom - top) * value / peak
            if value:
                draw.rectangle([x + offset, y, x + offset + bar, height - bottom - 1], fill=colour)
        draw.text((x, height - bottom + 6), day[5:], fill="#57606a", font=font)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def inline_images(ctx):
    """[(content id, PNG bytes)] the report's HTML shows."""
    return [(CHART_CID, chart_png(ctx["chart"]))]
