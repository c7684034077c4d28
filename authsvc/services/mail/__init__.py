"""Mail: what the rest of the app may call. Everything else in this package is the worker's.

Request side (returns once a sealed job is in Redis; the worker decides who really gets mail):
    queue_mail(template, to, context, ...)  queue a message; returns the job id
    send_code(purpose, to, ...)             issue a code and queue its mail; the job expires with it
    IF_ACCOUNT, IF_NO_ACCOUNT, ALWAYS       the account rule a job carries
    current_language()                      the language a job is written in by default
Notices to account owners, and the switch and unsubscribe link of the non-essential one:
    security_alert, new_device, set_new_device, unsubscribe_url, unsubscribe_account
Who mail is from:
    sender_address()                        the From address (the "add to contacts" hint)
Figures and the worker:
    figures(), overview(), queue_depth()    delivery counters; counters + queue + dead letters for the dashboard
    dead_letter_count()                     mail given up on after retrying while it was useful
    RedisFigures                            the Prometheus collector of the figures kept in Redis
    start_embedded(app), MailWorker         a worker thread in this process, or one run by the CLI
    send_test_message(to)                   send-test-mail: queue one, deliver it, say what became of it

Inside: compose (templates → subject, text, HTML), queue (Redis: put, claim, ack, retry, reap),
delivery (providers, SMTP, fallback → an Outcome), worker (the loop that settles each Outcome
once), smtpconn (kept connections), wire (the bytes sent), stats (figures, circuit breaker),
notices (the security notices).
"""

from .exporter import RedisFigures
from .notices import new_device, security_alert, set_new_device, unsubscribe_account, unsubscribe_url
from .enqueue import ALWAYS, IF_ACCOUNT, IF_NO_ACCOUNT, current_language, queue_mail, send_code
from .queue import dead_count as dead_letter_count
from .sender import address as sender_address
from .probe import send_test_message
from .queue import depth as queue_depth
from .stats import figures, overview
from .worker import MailWorker, start_embedded

__all__ = [
    "ALWAYS", "IF_ACCOUNT", "IF_NO_ACCOUNT", "MailWorker", "RedisFigures", "current_language", "dead_letter_count",
    "figures", "new_device", "overview", "queue_depth", "queue_mail", "security_alert", "send_code", "sender_address",
    "send_test_message", "set_new_device", "start_embedded", "unsubscribe_account", "unsubscribe_url",
]
