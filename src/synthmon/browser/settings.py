"""The policy's `browser:` section as typed settings: Chromium, devices, budgets."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from synthmon.policy import Budget, Policy

CHROMIUM_VARIABLE = "SYNTH_CHROMIUM"
# name -> unit; the order in which a page's vitals are judged and reported
VITALS: dict[str, Literal["ms", "score"]] = {
    "ttfb": "ms", "lcp": "ms", "cls": "score", "tbt": "ms", "inp": "ms"}
# "never", not "off": YAML 1.1 reads an unquoted off as false
Artifacts = Literal["on-failure", "always", "never"]


class BrowserSetupError(Exception):
    """The browser checks cannot start; the message is one sentence saying what to do."""


@dataclass(frozen=True, slots=True)
class Network:
    latency_ms: float
    download_kbps: float
    upload_kbps: float

    def cdp(self) -> dict[str, Any]:
        """Network.emulateNetworkConditions parameters (throughput in bytes per second)."""
        return {"offline": False, "latency": self.latency_ms,
                "downloadThroughput": self.download_kbps * 1000 / 8,
                "uploadThroughput": self.upload_kbps * 1000 / 8}


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    width: int
    height: int
    device_scale_factor: float
    mobile: bool
    touch: bool
    user_agent: str  # appended to the client's user agent; {chrome} is Chromium's version
    cpu_slowdown: float
    network: Network | None

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Device:
        """From a device of a loaded policy, whose defaults the schema filled in."""
        network = data.get("network")  # optional, and no default: no throttling
        return cls(
            name=name, width=int(data["viewport"]["width"]),
            height=int(data["viewport"]["height"]),
            device_scale_factor=float(data["device_scale_factor"]),
            mobile=bool(data["mobile"]), touch=bool(data["touch"]),
            user_agent=str(data["user_agent"]), cpu_slowdown=float(data["cpu_slowdown"]),
            network=Network(float(network["latency_ms"]), float(network["download_kbps"]),
                            float(network["upload_kbps"])) if network else None)

    def user_agent_for(self, client_user_agent: str, chrome_version: str) -> str:
        return f"{client_user_agent} {self.user_agent.replace('{chrome}', chrome_version)}"


@dataclass(frozen=True, slots=True)
class BrowserSettings:
    executable: str
    launch_timeout_s: float
    action_timeout_s: float
    artifacts: Artifacts
    user_agent: str
    devices: dict[str, Device]
    steps: dict[str, Budget]
    vitals: dict[str, Budget]

    @classmethod
    def from_policy(cls, policy: Policy, environ: dict[str, str] | None = None
                    ) -> BrowserSettings:
        """From a loaded policy (its browser section is always there, defaults filled in)."""
        environ = dict(os.environ if environ is None else environ)
        section = policy.data["browser"]
        steps = {name: Budget(float(b["budget_ms"]), float(b["hard_limit_ms"]), False)
                 for name, b in section["steps"].items()}
        vitals = {name: Budget(float(section["vitals"][name]["budget"]),
                               float(section["vitals"][name]["hard_limit"]), False)
                  for name in VITALS}
        return cls(
            executable=environ.get(CHROMIUM_VARIABLE) or str(section["executable"]),
            launch_timeout_s=float(section["launch_timeout_s"]),
            action_timeout_s=float(section["action_timeout_s"]),
            artifacts=section["artifacts"],
            user_agent=str(policy.client["user_agent"]),
            devices={name: Device.from_dict(name, d) for name, d in section["devices"].items()},
            steps=steps, vitals=vitals)

    def device(self, name: str) -> Device:
        if name not in self.devices:
            raise BrowserSetupError(
                f"--device {name}: the policy's browser.devices has no such profile "
                f"(known: {', '.join(sorted(self.devices))})")
        return self.devices[name]

    def step(self, name: str) -> Budget:
        return self.steps.get(name) or self.steps["default"]
