"""Several Redis commands sent as one script call: the settlement of a job and its figures.

Settling a sent job is some 15 commands (forget the job and its claim, remember it was sent,
the report, the delivery figures, the day figures, the recent window, the circuit). In a
MULTI/EXEC pipeline each is packed, queued and answered on its own, which cost as much CPU
as the rest of the worker's Redis traffic together. Recorded here by the same calls
(`recorder.hincrby(...)`, any redis-py command) and run by one EVALSHA, they are as atomic as
MULTI/EXEC and, like it, a failing command does not stop the others (redis.pcall).
The keys are named inside the script: one Redis, or one Sentinel-managed master, as
everywhere in authsvc.
"""

from redis.commands.core import CoreCommands
from redis.exceptions import ResponseError

from ...extensions import redis_client

# ARGV: for each command its length, then its words. Returns how many commands ran and the
# first error (false for none).
RUN_LUA = """
local at, ran, failed = 1, 0, false
while at <= #ARGV do
  local n = tonumber(ARGV[at])
  local answer = redis.pcall(unpack(ARGV, at + 1, at + n))
  if type(answer) == 'table' and answer.err and not failed then failed = answer.err end
  at, ran = at + n + 1, ran + 1
end
return {ran, failed}
"""


class Recorder(CoreCommands):
    """Records redis-py commands (a pipeline's interface) instead of sending them."""

    def __init__(self):
        self.commands = []

    def execute_command(self, *args, **options):
        self.commands.append(args)
        return self

    def execute(self):
        """Run every recorded command in one round trip; returns how many ran. A command that
        failed raises ResponseError once all have run (as a MULTI/EXEC pipeline does)."""
        words = []
        for command in self.commands:
            words.append(len(command))
            words.extend(command)
        self.commands = []
        if not words:
            return 0
        ran, failed = redis_client.script(RUN_LUA)(keys=[], args=words)
        if failed:
            raise ResponseError(failed.decode() if isinstance(failed, bytes) else failed)
        return int(ran)
