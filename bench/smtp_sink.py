"""An SMTP sink for the benchmarks (aiosmtpd): accepts every message and counts them.

    python bench/smtp_sink.py PORT COUNT_FILE

The running total of accepted messages is rewritten to COUNT_FILE five times a second.
Both apps send to it: authsvc from its mail worker threads, Flask-Security-Too from inside
its request handlers.
"""

import os
import sys
import threading

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        return "250 Message accepted for delivery"


def main():
    port, count_file = int(sys.argv[1]), sys.argv[2]
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    try:
        while not stop.wait(0.2):
            with open(count_file + ".tmp", "w") as out:
                out.write(str(handler.messages))
            os.replace(count_file + ".tmp", count_file)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
