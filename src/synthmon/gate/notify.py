"""A message to a Slack-compatible incoming webhook at each change of the served verdict:
the new verdict, the criteria that decided, a link to the ship-room page. At most one
message per change, sent off the evaluation loop, never retried into a flood; paging on a
rollback stays with Prometheus and Alertmanager (through /metrics).

The webhook URL is a secret, so the policy names the environment variable that holds it
(`gate.notify.url_env`), never the URL itself."""

from __future__ import annotations

import os
import threading

import click
import requests

from synthmon.gate.model import Decision
from synthmon.policy import Policy

TIMEOUT_S = 5.0


def message(decision: Decision, previous: Decision | None, page_url: str | None) -> str:
    before = previous.verdict.upper() if previous is not None else "started"
    lines = [f"synthmon gate, phase {decision.phase}: {before} → *{decision.verdict.upper()}*"]
    if decision.verdict == "rollback":
        decided = [c for c in decision.criteria if c.verdict == "rollback"]
    elif decision.verdict == "hold":
        decided = [c for c in decision.criteria if c.verdict == "hold"][:5]
    else:
        decided = []
    lines += [f"• {c.id}: {c.reason}" for c in decided]
    if decision.verdict in ("go", "error"):
        lines.append(decision.summary)
    if page_url:
        lines.append(f"<{page_url}|ship-room page>")
    return "\n".join(lines)


class Notifier:
    def __init__(self, url: str, page_url: str | None):
        self.url, self.page_url = url, page_url
        self.sent = 0
        self.failed = 0

    @classmethod
    def from_policy(cls, policy: Policy, page_url: str | None) -> Notifier | None:
        settings = policy.gate.get("notify") or {}
        name = settings.get("url_env")
        url = os.environ.get(name, "").strip() if name else ""
        if not url:
            return None
        return cls(url, settings.get("page_url") or page_url)

    def __call__(self, decision: Decision, previous: Decision | None) -> None:
        text = message(decision, previous, self.page_url)
        threading.Thread(target=self._post, args=(text,), name="gate-notify",
                         daemon=True).start()

    def _post(self, text: str) -> None:
        try:
            answer = requests.post(self.url, json={"text": text}, timeout=TIMEOUT_S)
            ok = 200 <= answer.status_code < 300
        except requests.RequestException:
            ok = False
        if ok:
            self.sent += 1
        else:
            self.failed += 1
            click.echo("synthmon gate serve: the verdict-change notification was not "
                       "delivered (the next change will try again)", err=True)
