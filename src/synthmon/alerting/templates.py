"""The text of every notification, as Alertmanager templates (Go text/template).

One incident is one notification group: `.Alerts` holds one alert per region that sees it.
The text names the alert and its severity, the check and the target, every region with its
state, the one-line summary, the synthetic id and trace id of the latest failing run in
that region (so on-call can search the logs at once), and the runbook link.
"""

from __future__ import annotations

# "SyntheticCheckFailing [page]: check X on target T (eu-west-1, us-east-1)"
TITLE = (
    '{{ if eq .Status "resolved" }}RESOLVED {{ end }}'
    "{{ .CommonLabels.alertname }} [{{ .CommonLabels.severity }}]: "
    "{{ with .CommonLabels.check }}{{ . }}{{ else }}several checks{{ end }}"
    " on {{ with .CommonLabels.target }}{{ . }}{{ else }}several targets{{ end }}"
    " ({{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{{ $a.Labels.region }}{{ end }})"
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
