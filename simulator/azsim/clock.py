"""Simulated time: sim = sim_base + (wall - wall_base) * scale, plus explicit advances."""

import datetime
import threading
import time


def iso(ts):
    """Azure-style ISO 8601 UTC timestamp for epoch seconds."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat()


class Clock:
    def __init__(self, scale=60.0, start=None):
        self._lock = threading.Lock()
        self._scale = float(scale)
        self._wall_base = time.time()
        self._sim_base = float(start if start is not None else self._wall_base)
        self.advanced = 0.0

    def now(self):
        with self._lock:
            return self._sim_base + (time.time() - self._wall_base) * self._scale

    @property
    def scale(self):
        return self._scale

    def set_scale(self, scale):
        with self._lock:
            wall = time.time()
            self._sim_base = self._sim_base + (wall - self._wall_base) * self._scale
            self._wall_base = wall
            self._scale = float(scale)

    def advance(self, seconds):
        with self._lock:
            self._sim_base += float(seconds)
            self.advanced += float(seconds)

    def wall_seconds_for(self, sim_seconds):
        """How many wall seconds correspond to sim_seconds at the current scale."""
        if self._scale <= 0:
            return float("inf")
        return sim_seconds / self._scale

    def info(self):
        now = self.now()
        return {"sim_time": now, "sim_iso": iso(now), "time_scale": self._scale,
                "advanced_seconds": self.advanced, "wall_time": time.time()}
