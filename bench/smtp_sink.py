"""An SMTP sink for the benchmarks (aiosmtpd): accepts every message and counts them.

    python bench/smtp_sink.py PORT COUNT_FILE [IDS_FILE]

The running total of accepted messages is rewritten to COUNT_FILE five times a second.
With IDS_FILE, the X-Authsvc-Job header of every accepted message is appended to it, one a
line (bench/mail_probe.py checks with it that each job arrived exactly once).
Both apps send to it: authsvc from its mail worker threads, Flask-Security-Too from inside
its request handlers.
"""

import os
import sys
import threading

from aiosmtpd.controller import Controller

JOB_HEADER = b"\nX-Authsvc-Job: "


class Counter:
    def __init__(self):
        self.messages = 0
        self.ids = []

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        content = envelope.original_content or b""
        at = content.find(JOB_HEADER)
        if at >= 0:
            start = at + len(JOB_HEADER)
            self.ids.append(content[start:content.find(b"\r", start)].decode())
        return "250 Message accepted for delivery"


def main():
    port, count_file = int(sys.argv[1]), sys.argv[2]
    ids_file = sys.argv[3] if len(sys.argv) > 3 else None
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    written = 0
    try:
        while not stop.wait(0.2):
            if ids_file:
                new, written = handler.ids[written:], written + len(handler.ids[written:])
                if new:
                    with open(ids_file, "a") as out:
                        out.write("".join(f"{job_id}\n" for job_id in new))
            with open(count_file + ".tmp", "w") as out:
                out.write(str(handler.messages))
            os.replace(count_file + ".tmp", count_file)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
