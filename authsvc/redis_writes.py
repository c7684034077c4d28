"""Redis writes a request leaves to its end: the code it issued, the mail it queued and (with
AUDIT_STREAM) its audit rows go to Redis in one pipeline, one round trip, just before the
answer (hooks.commit_request). A code-sending request is then two round trips in all: the
send-limit script, which must answer before anything is written, and this pipeline.

Only writes whose answers the request does not read are deferred; a request that fails
(5xx) sends none of them, and when the pipeline itself fails the request answers 503, as it
would have had the first write failed in the view. Outside a dispatched request (CLI, mail
worker, a test's bare request context) every write is sent at once.
"""

import logging

from flask import current_app, g, has_request_context

from .extensions import redis_client, run_pipeline

log = logging.getLogger("authsvc")


def start():
    """Called as each request starts: from here on its writes may wait for its end."""
    g.defer_redis_writes = True


def pipeline():
    """The request's pipeline to queue writes on, or None: write at once."""
    if not has_request_context() or not g.get("defer_redis_writes"):
        return None
    pipe = g.get("redis_writes")
    if pipe is None:
        pipe = g.redis_writes = redis_client.pipeline(transaction=False)
    return pipe


def wait_for_replicas():
    """Send WAIT after the request's writes (REDIS_WAIT_REPLICAS): queued mail must be on the
    replicas before the client is told it was sent."""
    g.redis_wait = True


def take():
    """The request's pending pipeline (removed from the request), or None."""
    return g.pop("redis_writes", None)


def send(pipe, wait=False):
    """Send a pipeline of writes, with WAIT for the replicas when asked; returns the answers."""
    replicas = current_app.config["REDIS_WAIT_REPLICAS"]
    wait = replicas and (wait or (has_request_context() and g.pop("redis_wait", False)))
    if wait:
        pipe.execute_command("WAIT", replicas, current_app.config["REDIS_WAIT_MS"])
    answers = run_pipeline(pipe)
    if wait and answers[-1] < replicas:
        log.warning("writes reached %s of %s replicas in time", answers[-1], replicas)
    return answers
