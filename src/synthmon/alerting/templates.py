"""The text of every notification, as Alertmanager templates (Go text/template).

One incident is one notification group: `.Alerts` holds one alert per region that sees it.
The text names the alert and its severity, the check and the target, every region with its
state, the one-line summary, the synthetic id and trace id of the latest failing run in
that region (so on-call can search the logs at once), and the runbook link.
"""

from __future__ import annotations

# What the title says the alert is about, by the labels its alerts carry:
# "SyntheticCheckFailing [page]: check X on target T (eu-west-1, us-east-1)" for a check,
# "SyntheticTargetUnreachable [page]: canary (eu-west-1)" for a target, and the summary for
# the canary's and the gate's alerts, which name no check, target or region
# ("GateVerdictRollback [page]: the gate said rollback in phase 25: http_5xx_rate").
_SUBJECT = (
    "{{ if $first.Labels.check }}"
    "{{ with .CommonLabels.check }}{{ . }}{{ else }}several checks{{ end }}"
    " on {{ with .CommonLabels.target }}{{ . }}{{ else }}several targets{{ end }}"
    "{{ else if $first.Labels.target }}"
    "{{ with .CommonLabels.target }}{{ . }}{{ else }}several targets{{ end }}"
    "{{ else }}"
    "{{ $first.Annotations.summary }}"
    "{{ if gt (len .Alerts) 1 }} ({{ len .Alerts }} alerts){{ end }}"
    "{{ end }}"
)
TITLE = (
    "{{ $first := index .Alerts 0 }}"
    '{{ if eq .Status "resolved" }}RESOLVED {{ end }}'
    "{{ .CommonLabels.alertname }} [{{ .CommonLabels.severity }}]: " + _SUBJECT +
    "{{ if $first.Labels.region }}"
    " ({{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{{ $a.Labels.region }}{{ end }})"
    "{{ end }}"
)

REGIONS = (
    "{{ range $i, $a := .Alerts.Firing }}{{ if $i }}, {{ end }}{{ $a.Labels.region }}{{ end }}"
)

BODY = (
    "{{ range .Alerts }}"
    "- {{ .Labels.region }} ({{ .Status }}): {{ .Annotations.summary }}\n"
    '  synthetic id: {{ or .Annotations.synthetic_id "none" }}, '
    'trace id: {{ or .Annotations.trace_id "none" }}\n'
    "{{ end }}"
    "Runbook: {{ (index .Alerts 0).Annotations.runbook_url }}\n"
)

RUNBOOK = "{{ (index .Alerts 0).Annotations.runbook_url }}"

SYNTHETIC_IDS = (
    "{{ range $i, $a := .Alerts.Firing }}{{ if $i }}, {{ end }}"
    '{{ $a.Labels.region }}={{ or $a.Annotations.synthetic_id "none" }}{{ end }}'
)

TRACE_IDS = (
    "{{ range $i, $a := .Alerts.Firing }}{{ if $i }}, {{ end }}"
    '{{ $a.Labels.region }}={{ or $a.Annotations.trace_id "none" }}{{ end }}'
)


def all_templates() -> dict[str, str]:
    """Every template by name (a selftest renders each with amtool)."""
    return {"title": TITLE, "regions": REGIONS, "body": BODY, "runbook": RUNBOOK,
            "synthetic_ids": SYNTHETIC_IDS, "trace_ids": TRACE_IDS}
