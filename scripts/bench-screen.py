#!/usr/bin/env python3
"""What the benchmarks see on the dashboard's screen (issues 7 and 16), in one place.

  bench-screen.py check < SCREEN
      exit 0 when the captured screen is "full": every panel holds real data.
  bench-screen.py watch SOCKET SESSION GO_FIFO START_FILE LIMIT
      times the dashboard in tmux session SESSION (server SOCKET) from its launch to its first
      frame and to its first full screen. The session's shell waits on GO_FIFO before it starts
      the dashboard and writes the launch time (epoch seconds) to START_FILE.

The watcher attaches one tmux control-mode client (`tmux -C`) before it releases the launch, and
looks at the screen (`capture-pane` sent down that same client) each time tmux reports output
from the dashboard's pane (%output). No process is started while the dashboard starts: a poller
that forks `tmux capture-pane` every 5 ms takes the two cores from the kubectl start-up it
measures (about 20 ms of figure 3, BENCHMARKS.md), and sees a screen up to 5 ms late.
The time of a screen is taken when its capture has come back (never earlier than the screen).
Prints "frame SECONDS full SECONDS frame_first yes|no"; exit 1 (the last screen printed) when no
full screen came within LIMIT seconds or the session ended.
"""
import os
import re
import select
import subprocess
import sys
import time

_NODE = re.compile(r"node [^ ]+ +Ready")
_MEMORY = re.compile(r"used/max.*[0-9]")
_QUEUE = re.compile(r"│ email +[0-9]")


def full_screen(s: str) -> bool:
    """Issue 16's "full screen": the pod (Running) and its node (Ready), Redis memory (the gauge
    has a value), AOF, the exporter (up, from its scrape) and the BullMQ panel listing a real
    queue (the demo seed's `email` with its counts)."""
    return bool(
        "Running" in s and _NODE.search(s) and _MEMORY.search(s) and "AOF on" in s
        and "exporter sidecar present and up" in s and _QUEUE.search(s)
    )


def has_frame(s: str) -> bool:
    return "redis-runbook" in s


class Control:
    """A tmux control-mode client: commands down its stdin, replies and notifications up its stdout."""

    def __init__(self, socket: str, session: str):
        self.session = session
        self.proc = subprocess.Popen(
            ["tmux", "-S", socket, "-C", "attach", "-t", session],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
        )
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.output_seen = False  # %output from the pane since the last look
        self.ended = False

    def _lines(self, deadline: float):
        """Yields the next lines until deadline; notes %output and %exit on the way."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.startswith(b"%output"):
                    self.output_seen = True
                elif line.startswith(b"%exit") or line.startswith(b"%session-closed"):
                    self.ended = True
                yield line
            left = deadline - time.time()
            if left <= 0:
                return
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return
            data = os.read(self.fd, 1 << 16)
            if not data:
                self.ended = True
                return
            self.buf += data

    def attached(self, limit: float) -> bool:
        """Waits for the reply block tmux sends when the client attaches."""
        for line in self._lines(time.time() + limit):
            if line.startswith(b"%end"):
                return True
        return False

    def wait_output(self, deadline: float) -> bool:
        """Waits until the pane has printed something since the last look (or the session ended)."""
        if self.output_seen or self.ended:
            return True
        for _ in self._lines(deadline):
            if self.output_seen or self.ended:
                return True
        return False

    def capture(self) -> str:
        """The pane's screen now (`capture-pane -p` through this client)."""
        self.output_seen = False
        self.proc.stdin.write(b"capture-pane -p -t " + self.session.encode() + b"\n")
        rows, inside = [], False
        for line in self._lines(time.time() + 5):
            if line.startswith(b"%begin"):
                inside = True
            elif inside and (line.startswith(b"%end") or line.startswith(b"%error")):
                break
            elif inside:
                rows.append(line)
        return b"\n".join(rows).decode("utf-8", "replace")

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()


def watch(socket: str, session: str, go_fifo: str, start_file: str, limit: float) -> int:
    ctl = Control(socket, session)
    if not ctl.attached(5):
        print(f"bench-screen: cannot attach a tmux control client to session {session}", file=sys.stderr)
        ctl.close()
        return 2
    with open(go_fifo, "w") as go:
        go.write("go\n")
    deadline = time.time() + limit
    t_frame = t_full = None
    first = screen = ""
    look = True  # the first look needs no output
    while time.time() < deadline:
        if not look and not ctl.wait_output(deadline):
            break
        look = False
        screen = ctl.capture()
        now = time.time()
        if t_frame is None and has_frame(screen):
            t_frame, first = now, screen
        if full_screen(screen):
            t_full = now
            break
        if ctl.ended:
            break
    ctl.close()
    with open(start_file) as f:
        start = float(f.read().strip())
    if t_full is None or t_frame is None:
        why = "the session ended" if ctl.ended else f"no full screen within {limit:g} s"
        print(f"{why}; last screen:")
        print("\n".join(screen.splitlines()[:30]))
        return 1
    first_yes = "no" if full_screen(first) else "yes"
    print(f"frame {t_frame - start:.4f} full {t_full - start:.4f} frame_first {first_yes}")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "check":
        return 0 if full_screen(sys.stdin.read()) else 1
    if len(argv) == 7 and argv[1] == "watch":
        return watch(argv[2], argv[3], argv[4], argv[5], float(argv[6]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
