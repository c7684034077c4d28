"""What an alert says, in the reader's language: its summary (with its figures) and what to do."""

from flask_babel import gettext as _


def _percent(value):
    return f"{value * 100:.0f} %" if value is not None else "–"


SUMMARIES = {
    "AuthsvcMailSuccessRateLow": lambda p: _(
        "Mail success rate %(rate)s over the last %(minutes)s minutes (%(failed)s of %(attempts)s attempts "
        "failed; alert below 95 %%)", rate=_percent(p["rate"]), minutes=p["minutes"], failed=p["failed"],
        attempts=p["attempts"]),
    "AuthsvcMailCircuitOpen": lambda p: _(
        "The %(provider)s mail server is being skipped after consecutive failures (circuit open)",
        provider=p["provider"]),
    "AuthsvcMailQueueStuck": lambda p: _(
        "The oldest queued mail has waited %(seconds)s seconds (alert above 60)", seconds=p["seconds"]),
    "AuthsvcCodeSendsRefused": lambda p: _(
        "%(count)s code sends refused by the send limits in the last minute, %(top)s of them from %(client)s "
        "(alert above 10)", count=p["count"], top=p["top"], client=p["client"]),
    "AuthsvcMailQuotaHigh": lambda p: _(
        "The %(provider)s mail server has sent %(sent)s of its %(quota)s mails for today (%(ratio)s; alert "
        "at 80 %%)", provider=p["provider"], sent=p["sent"], quota=p["quota"], ratio=_percent(p["ratio"])),
    "AuthsvcCodeUsageLow": lambda p: _(
        "Only %(rate)s of the %(mailed)s codes mailed in the last 7 days were used (alert below 70 %%)",
        rate=_percent(p["rate"]), mailed=p["mailed"]),
    "AuthsvcMailGivenUp": lambda p: _(
        "%(count)s mails given up on in the last hour after retrying while they were useful",
        count=p["count"]),
}

ADVICE = {
    "AuthsvcMailSuccessRateLow": lambda: _(
        "Codes may not be arriving. Check the mail figures on the admin dashboard, the servers' replies in "
        "the worker log, the MAIL_* settings and the provider's daily cap."),
    "AuthsvcMailCircuitOpen": lambda: _(
        "Mail goes to the fallback server if one is configured. Check the provider's status and credentials."),
    "AuthsvcMailQueueStuck": lambda: _(
        "No worker is taking mail off the queue fast enough. Check that the mail workers run and reach Redis."),
    "AuthsvcCodeSendsRefused": lambda: _(
        "A client is hammering the code-sending endpoints. Find it in the request log (429 answers) and "
        "block it at the proxy if it goes on."),
    "AuthsvcMailQuotaHigh": lambda: _(
        "At the quota new mail goes to the fallback server, or waits for tomorrow without one. Configure a "
        "fallback or raise the quota if the provider allows it."),
    "AuthsvcCodeUsageLow": lambda: _(
        "Codes may land in spam or arrive late. Check deliverability (SPF, DKIM, DMARC) and the mail latency."),
    "AuthsvcMailGivenUp": lambda: _(
        "See the dead letters on the admin dashboard or in GET /api/v1/admin/mail-stats (the reason per "
        "provider). The people concerned may ask for a new code."),
}


def summary(name, params):
    return SUMMARIES[name](params)


def advice(name):
    return ADVICE[name]()


def state_word(state):
    return _("Alert started") if state == "firing" else _("Alert ended")
