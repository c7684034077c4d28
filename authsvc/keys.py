"""Every Redis key name and its TTL, in one place.

Per-person and secret-bearing keys all expire. Only the mail queue's structures, the
delivery counters (message ids and numbers, never a secret) and the blocked-network hashes
live on; an entry of those ends with its block (the check ignores it from then on, and it is
removed when the list is read or the next automatic block is made).
Addresses never appear in key names: `addr` is a keyed hash of the normalised address.
"""

from flask import current_app

PREFIX = "authsvc:"
DAY = 86400

CODE_TTL_SETTING = {
    "register": "CODE_TTL_REGISTER",
    "login": "CODE_TTL_LOGIN",
    "reset": "CODE_TTL_RESET",
    "change_email": "CODE_TTL_CHANGE_EMAIL",
    "second_factor": "CODE_TTL_SECOND_FACTOR",
}


def _cfg(name):
    return current_app.config[name]


# --- one-time codes -------------------------------------------------------------------
def code(purpose, owner):
    """Hash of the current code for (purpose, owner) and its wrong-try count.

    The owner is the address's keyed hash, or for registrations the registration's own id
    hash: each pending registration has its own code.
    """
    return f"{PREFIX}code:{purpose}:{owner}"


def code_ttl(purpose):
    return _cfg(CODE_TTL_SETTING[purpose])


def code_failures(addr):
    """Consecutive wrong codes for an address across all its codes (the daily budget)."""
    return f"{PREFIX}codefail:{addr}"


CODE_FAILURES_TTL = DAY


# --- captcha ----------------------------------------------------------------------------
def captcha(captcha_id):
    return f"{PREFIX}captcha:{captcha_id}"


def captcha_ttl():
    return _cfg("CAPTCHA_TTL")


# --- registration -----------------------------------------------------------------------
def pending_registration(registration_hash):
    """One registration waiting for its code, keyed by the hash of its registration_id.

    Each start has its own record: a later registration for the same address never touches
    an earlier one. Lives exactly as long as the register code.
    """
    return f"{PREFIX}reg:{registration_hash}"


def pending_registration_ttl():
    return code_ttl("register")


def pending_email_change(user_id):
    """The address a signed-in user asked to switch to; lives as long as its code."""
    return f"{PREFIX}newmail:{user_id}"


def pending_email_change_ttl():
    return code_ttl("change_email")


def email_undo(undo_hash):
    """One "undo this email change" link (keyed by the hash of its id): the account, the old
    and the new address. Deleted when used: the link works once."""
    return f"{PREFIX}undo:email:{undo_hash}"


def email_undo_index(user_id):
    """The account's open undo links: using one voids the others (a chain of changes made by
    an intruder must not leave him an undo link of his own)."""
    return f"{PREFIX}undo:emailidx:{user_id}"


def email_undo_ttl():
    return _cfg("EMAIL_UNDO_DAYS") * DAY


def invite_failures(ip):
    """Wrong invite codes from one address in the last hour (guessing guard)."""
    return f"{PREFIX}invitefail:{ip}"


INVITE_FAILURES_TTL = 3600


# --- blocked networks (services/ipblocks.py) ---------------------------------------------------
IP_BLOCKS = f"{PREFIX}ipblock:records"  # hash block id -> JSON record (what admins list)
# hash "4/<prefix bits>" or "6/<prefix bits>" -> "<block id> <expiry, epoch ms>": one field per
# blocked network, so a request's check is one HGET per prefix length in use
IP_BLOCK_NETS = f"{PREFIX}ipblock:nets"
IP_BLOCK_LENGTHS = f"{PREFIX}ipblock:lengths"  # hash "4/24" -> how many blocked networks of that length


def ip_limit_hits(net):
    """Limit answers (429/423) one client network got in the current IP_BLOCK_WINDOW."""
    return f"{PREFIX}ipblock:hits:{net}"


# --- send limits (sliding logs; TTL = the window, set by the limiter script) ---------------
def send_window(scope, ident, index):
    return f"{PREFIX}send:{scope}:{ident}:{index}"


# --- sign-in ------------------------------------------------------------------------------
def login_failures(subject):
    """Consecutive password failures for an account (or an unknown login name)."""
    return f"{PREFIX}lf:{subject}"


def login_failures_ttl():
    return max(_cfg("LOGIN_LOCKOUT_SECONDS"), 3600)


def lockout(subject):
    return f"{PREFIX}lock:{subject}"


def lockout_ttl():
    return _cfg("LOGIN_LOCKOUT_SECONDS")


def login_inflight(subject):
    """Password checks under way for a subject (zset of slot ids; they count as failures
    until settled, so parallel guesses can't overrun the lockout)."""
    return f"{PREFIX}lfi:{subject}"


def ip_login_inflight(net):
    return f"{PREFIX}ipfi:{net}"


def ip_login_failures(ip):
    """Recent password failures from one address: decides when a captcha is required."""
    return f"{PREFIX}ipf:{ip}"


IP_LOGIN_FAILURES_TTL = 3600


def challenge(challenge_hash):
    """A password step passed, waiting for its emailed second step."""
    return f"{PREFIX}mfa:{challenge_hash}"


def challenge_ttl():
    return code_ttl("second_factor")


def known_devices(user_id):
    """Device ids that passed a second step; deleting the key forgets them all."""
    return f"{PREFIX}dev:{user_id}"


def known_devices_ttl():
    return _cfg("DEVICE_COOKIE_DAYS") * DAY


def notice_sent(kind, user_id):
    """Set while a notice an attacker could trigger again and again may not be sent again."""
    return f"{PREFIX}notice:{kind}:{user_id}"


NOTICE_INTERVAL = 3600


# --- sessions and tokens --------------------------------------------------------------------
def session(sid_hash):
    """A browser session, keyed by the hash of the id in the cookie."""
    return f"{PREFIX}sess:{sid_hash}"


def session_ttl(remember=False):
    if remember:
        return _cfg("REMEMBER_ME_DAYS") * DAY
    return _cfg("SESSION_IDLE_TIMEOUT")


def session_ended(sid_hash):
    """Marks a browser session that was ended from elsewhere (another device, a password change,
    an admin), keyed like the session itself: its next page says why it is signed out."""
    return f"{PREFIX}sess-ended:{sid_hash}"


def session_ended_ttl(remaining):
    """As long as the ended session would still have lived (its record's TTL), at least a day:
    later than that its cookie would have expired anyway."""
    return max(int(remaining or 0), DAY)


def api_token(token_hash):
    """An API bearer token, keyed by its hash."""
    return f"{PREFIX}tok:{token_hash}"


def api_token_ttl():
    return _cfg("API_TOKEN_TTL")


def user_sessions(user_id):
    """Index of a user's sessions and tokens (hash -> kind) so all can be ended at once."""
    return f"{PREFIX}usess:{user_id}"


def user_epoch(user_id):
    """The account's epoch as of its last end_all, written after that commit: a browser session
    saved under another epoch is refused by the save script (a sign-in that raced the end)."""
    return f"{PREFIX}uepoch:{user_id}"


def user_sessions_ttl():
    return max(_cfg("SESSION_ABSOLUTE_TIMEOUT"), _cfg("API_TOKEN_TTL"),
               _cfg("REMEMBER_ME_DAYS") * DAY)


# --- mail queue -----------------------------------------------------------------------------
MAIL_QUEUE = f"{PREFIX}mail:queue"  # list of job ids, oldest on the right
MAIL_DELAYED = f"{PREFIX}mail:delayed"  # zset job id -> due time (retries)
MAIL_WORKERS = f"{PREFIX}mail:workers"  # set of worker ids that may hold claimed jobs
MAIL_STATS = f"{PREFIX}mail:stats"  # hash of delivery counters
MAIL_DEAD = f"{PREFIX}mail:dead"  # list of JSON records of mail never delivered, newest on the left
MAIL_DEAD_KEEP = 1000  # the newest records kept
# Audit rows of requests that changed nothing else in SQL, on their way to the database
# (services/audit_stream.py): a stream read by the workers' consumer group.
AUDIT_STREAM = f"{PREFIX}audit:stream"
AUDIT_GROUP = "writers"


def mail_job(job_id):
    """The encrypted job; expires with the secret it carries."""
    return f"{PREFIX}mail:job:{job_id}"


def mail_processing(worker_id):
    """Jobs a worker has claimed and not yet acknowledged."""
    return f"{PREFIX}mail:processing:{worker_id}"


def mail_worker_alive(worker_id):
    return f"{PREFIX}mail:alive:{worker_id}"


def mail_worker_alive_ttl():
    """Longer than one job's worst case (two providers' SMTP timeouts), so a live worker is never reaped."""
    return _cfg("MAIL_WORKER_HEARTBEAT_TTL")


def mail_done(job_id):
    """Set once the SMTP server accepted a job: suppresses a second send of the same id."""
    return f"{PREFIX}mail:done:{job_id}"


MAIL_DONE_TTL = 2 * DAY


def mail_report(job_id):
    """What became of a job someone waits for (send-test-mail): written by whichever worker
    settles it; no address or content, only the result, provider and reason."""
    return f"{PREFIX}mail:report:{job_id}"


MAIL_REPORT_TTL = 3600


def mail_circuit(provider):
    """Consecutive failures of an SMTP provider and, when open, its skip window."""
    return f"{PREFIX}mail:circuit:{provider}"


def mail_circuit_open(provider):
    return f"{PREFIX}mail:circuit-open:{provider}"


def mail_circuit_ttl():
    return _cfg("MAIL_CIRCUIT_SECONDS")


MAIL_LATENCY = f"{PREFIX}mail:latency"  # hash of queue-to-acceptance latency buckets


# --- per-day figures, recent counts, alerts and reports (numbers and names, no person) -----
def figures_day(day):
    """The figures of one DISPLAY_TIMEZONE day (hash name -> count), `day` a date. The worker
    copies them to the database (daily_figures); Redis keeps them a few days."""
    return f"{PREFIX}figures:{day.isoformat()}"


FIGURES_DAY_TTL = 3 * DAY


def recent(kind, bucket):
    """Counts of a few seconds (bucket = its start, Unix seconds), for the alerts' short windows."""
    return f"{PREFIX}recent:{kind}:{bucket}"


def tick(task):
    """Set NX for a task's period (figures, alerts): the one worker that sets it runs the task."""
    return f"{PREFIX}tick:{task}"


ALERT_STATE = f"{PREFIX}alerts:state"  # hash alert key -> JSON (name, params, since) while firing
ALERT_WEBHOOK_OUTBOX = f"{PREFIX}alerts:webhook"  # list of JSON posts not yet accepted, oldest left
ALERT_WEBHOOK_KEEP = 200


def report_sent(kind, period):
    """Set NX by the worker that sends the `kind` (daily, weekly) report of `period` (its last day)."""
    return f"{PREFIX}report:{kind}:{period}"


REPORT_SENT_TTL = 9 * DAY


# --- authenticator app ---------------------------------------------------------------------
def totp_enrolment(user_id):
    """An enrolment started and not yet confirmed: the new secret, sealed (crypto.seal)."""
    return f"{PREFIX}totp:enrol:{user_id}"


TOTP_ENROLMENT_TTL = 900  # time to scan, type and confirm


# --- passkeys (WebAuthn) -------------------------------------------------------------------
def passkey_challenge(challenge_hash):
    """A WebAuthn challenge handed out and not yet answered, keyed by the hash of its
    challenge_id: what it is for, whom it is bound to. Read once (GETDEL): single use."""
    return f"{PREFIX}passkey:ch:{challenge_hash}"


PASSKEY_CHALLENGE_TTL = 300  # the browser's dialog waits at most this long (options' timeout)


# --- OpenID Connect provider (services/oidc/grants.py) --------------------------------------
def oauth_code(code_hash):
    """An authorization code's record; taken with GETDEL: one use. TTL OIDC_CODE_TTL."""
    return f"{PREFIX}oauth:code:{code_hash}"


def oauth_code_used(code_hash):
    """The token family a redeemed code started: a second use of the code revokes it."""
    return f"{PREFIX}oauth:codeused:{code_hash}"


def oauth_access(token_hash):
    """An access token's record (user, epoch, client, scope, family). TTL OIDC_ACCESS_TOKEN_TTL."""
    return f"{PREFIX}oauth:at:{token_hash}"


def oauth_family_revoked(family_id):
    """A revoked token family: its access tokens and any refresh token SQL does not show revoked
    yet (a code replay caught while its first use was saving) stop. Lives as long as a refresh token."""
    return f"{PREFIX}oauth:famrev:{family_id}"


def oauth_code_ttl():
    return _cfg("OIDC_CODE_TTL")


def oauth_code_used_ttl():
    return _cfg("OIDC_ACCESS_TOKEN_TTL") + _cfg("OIDC_CODE_TTL")


def oauth_access_ttl():
    return _cfg("OIDC_ACCESS_TOKEN_TTL")


def oauth_family_revoked_ttl():
    return max(_cfg("OIDC_ACCESS_TOKEN_TTL"), _cfg("OIDC_REFRESH_TOKEN_DAYS") * DAY)
