"""The Playground tab's trainings: one seeded 2-D GAN per browser page, trained in a background thread
while the page polls, so a page reload or a slow client never stops or blocks it. No gradio here.

A training thread takes at most half of one core (it sleeps as long as its last batch of steps took),
and at most MAX_RUNNING play at once; the other tabs' renders keep their share (bench/playground_latency.py).
Pages unseen for IDLE_S are paused and, past MAX_SESSIONS, forgotten oldest first."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from ..playground import PRESETS, Playground

MAX_SESSIONS = 16      # pages with a playground kept in memory (a few MB each)
MAX_RUNNING = 2        # trainings playing at once; a third Play waits for a slot, saying so
IDLE_S = 120.0         # a page that has not polled for this long is paused
DEFAULT_PRESET = "mode-collapse"


KEY = re.compile(r"[A-Za-z0-9_-]{6,64}")  # a Gradio session hash (a page's or an API client's), or new_key()


def valid_key(key) -> bool:
    return isinstance(key, str) and KEY.fullmatch(key) is not None


@dataclass
class Session:
    pg: Playground
    preset: str
    speed: int = 5                      # iterations per batch while playing
    running: bool = False
    seen: float = field(default_factory=time.monotonic)
    error: str | None = None            # why the thread stopped, if it failed
    thread: threading.Thread | None = None
    version: int = 0                    # bumped by every change, so a poll sends a picture only when it moved
    drawn: list = field(default_factory=list)  # points clicked on the picture so far, [[x, y], ...] in plane units


class Runner:
    def __init__(self, max_sessions: int = MAX_SESSIONS, max_running: int = MAX_RUNNING, idle_s: float = IDLE_S):
        self.max_sessions, self.max_running, self.idle_s = max_sessions, max_running, idle_s
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def session(self, key: str | None) -> Session:
        """The page's session (made on first use from the default preset)."""
        if not valid_key(key):
            raise ValueError("This page has no playground session; reload the page.")
        with self._lock:
            s = self._sessions.get(key)
            if s is None:
                p = PRESETS[DEFAULT_PRESET]
                s = Session(Playground(p.config, seed=p.seed), DEFAULT_PRESET)
                self._sessions[key] = s
                while len(self._sessions) > self.max_sessions:
                    _, old = self._sessions.popitem(last=False)
                    old.running = False
            self._sessions.move_to_end(key)
            s.seen = time.monotonic()
            self._pause_idle()
            return s

    def _pause_idle(self) -> None:
        now = time.monotonic()
        for s in self._sessions.values():
            if s.running and now - s.seen > self.idle_s:
                s.running = False

    def running(self) -> int:
        with self._lock:
            return sum(1 for s in self._sessions.values() if s.running)

    def play(self, key: str) -> None:
        s = self.session(key)
        if s.running:
            return
        if self.running() >= self.max_running:
            raise ValueError(f"{self.max_running} playgrounds are training on this server already; "
                             "press Play again in a moment, or use the step buttons.")
        s.running, s.error = True, None
        s.thread = threading.Thread(target=self._loop, args=(s,), daemon=True, name="playground")
        s.thread.start()

    def pause(self, key: str) -> None:
        self.session(key).running = False

    def _loop(self, s: Session) -> None:
        # Torch's thread count is the app's (--threads); the sleep below keeps a training under half of that.
        while s.running:
            t0 = time.perf_counter()
            try:
                s.pg.step(max(1, int(s.speed)))
            except Exception as e:  # noqa: BLE001 - shown on the page, never raised into the server
                s.error, s.running = f"Training stopped: {e}", False
                return
            s.version += 1
            time.sleep(max(0.005, time.perf_counter() - t0))
            if time.monotonic() - s.seen > self.idle_s:
                s.running = False
