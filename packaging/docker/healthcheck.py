"""Container health check: exit 0 when the station's API answers ``/health/ready``.

Docker's HEALTHCHECK runs it inside the container (``python /app/healthcheck.py``); it
reads the port from ``TASK_API_PORT`` like the station does and needs nothing but the
standard library. ``--live`` asks ``/health/live`` instead (the process answers).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def check(path: str, port: int, timeout: float = 4.0) -> tuple[bool, str]:
    """Ask ``http://127.0.0.1:PORT/PATH``; (healthy, what it said)."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:  # 503: a component is down
        return False, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        return False, f"no answer from {url}: {exc}"


def main(argv: list[str]) -> int:
    path = "/health/live" if "--live" in argv else "/health/ready"
    healthy, said = check(path, int(os.environ.get("TASK_API_PORT", "8765")))
    try:  # one short line in `docker inspect`: what is degraded or down
        body = json.loads(said)
        parts = body.get("components", {}).items()
        bad = {k: v["status"] for k, v in parts if v["status"] not in ("ok", "not configured")}
        said = f"{body.get('status')} {bad}" if bad else str(body.get("status"))
    except (ValueError, AttributeError, KeyError, TypeError):
        pass
    print(said[:300])
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
