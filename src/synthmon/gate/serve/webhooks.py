"""Flagger's webhooks, answered from the stored verdict. Flagger reads only the status code
(2xx yes, anything else no) and what "no" means depends on the hook's type, so each type
maps the verdict its own way; the rule throughout: a hold (or a gate that cannot evaluate)
never reads as a failure, nor as a promotion, nor as a rollback.

- confirm-rollout: 200 while the gate is evaluating (not error, not stale); else Flagger
  waits before scaling the canary up.
- pre-rollout, rollout: 200 unless the verdict is rollback; a 409 counts as a failed check
  (Flagger rolls back at its threshold).
- confirm-traffic-increase, confirm-promotion: 200 on go with every approval of the phase
  recorded; else Flagger waits.
- rollback: 200 when the verdict is rollback (Flagger rolls back); else it goes on.
- post-rollout, event: always 200, the call recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthmon.gate.model import Decision

HOOKS = ("confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase",
         "confirm-promotion", "post-rollout", "rollback", "event")


@dataclass(frozen=True)
class HookAnswer:
    allowed: bool  # 200 when True, 409 when False
    reason: str

    def body(self, hook: str, decision: Decision) -> dict[str, Any]:
        return {"hook": hook, "allowed": self.allowed, "verdict": decision.verdict,
                "phase": decision.phase, "reason": self.reason, "summary": decision.summary,
                "tripped": decision.tripped(),
                "approvals_missing": list((decision.approvals or {}).get("missing", []))}


def answer(hook: str, decision: Decision) -> HookAnswer:
    verdict = decision.verdict
    if hook in ("post-rollout", "event"):
        return HookAnswer(True, "recorded")
    if hook == "confirm-rollout":
        if verdict == "error":
            return HookAnswer(False, "the gate cannot evaluate yet: " + decision.summary)
        return HookAnswer(True, f"the gate is watching phase {decision.phase} ({verdict})")
    if hook in ("pre-rollout", "rollout"):
        if verdict == "rollback":
            return HookAnswer(False, "the verdict is rollback: "
                              + ", ".join(decision.tripped()))
        return HookAnswer(True, f"the verdict is {verdict}: nothing to fail on"
                          + (" (a hold is not a failure)" if verdict in ("hold", "error")
                             else ""))
    if hook in ("confirm-promotion", "confirm-traffic-increase"):
        missing = list((decision.approvals or {}).get("missing", []))
        if verdict != "go":
            return HookAnswer(False, f"the verdict is {verdict}, not go: no promotion")
        if missing:
            return HookAnswer(False, "go, but approvals missing: " + ", ".join(missing))
        return HookAnswer(True, "go, and every approval is recorded")
    if hook == "rollback":
        if verdict == "rollback":
            return HookAnswer(True, "roll back: " + ", ".join(decision.tripped()))
        return HookAnswer(False, f"the verdict is {verdict}: no rollback")
    raise KeyError(hook)
