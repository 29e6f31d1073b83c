{{/* Names are fixed: the operator's defaults (webhooks/config.ts, operator/certs/self-managed.ts). One release per cluster. */}}
{{- define "nhi-operator.name" -}}nhi-operator{{- end -}}
{{- define "nhi-operator.serviceName" -}}nhi-operator-webhook{{- end -}}
{{- define "nhi-operator.certSecret" -}}nhi-operator-webhook-certs{{- end -}}

{{- define "nhi-operator.selectorLabels" -}}
app.kubernetes.io/name: nhi-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "nhi-operator.labels" -}}
{{ include "nhi-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{/*
The cluster-wide rules the operator uses: the ClusterRole and the operator's own NonHumanIdentity
both render this one list. Each rule is justified in the chart README. e2e/suites/chart.e2e.ts
measures them: every verb here must appear in the API server's audit log of the operator's run.
*/}}
{{- define "nhi-operator.clusterRules" -}}
- apiGroups: [""]
  resources: [namespaces, pods, replicationcontrollers]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [list, watch, delete]
- apiGroups: [""]
  resources: [serviceaccounts/token]
  verbs: [create]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [list, watch, patch, update]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [list, watch, update]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles, rolebindings, clusterrolebindings]
  verbs: [list, watch]
- apiGroups: [nhi.io]
  resources: [nonhumanidentities]
  verbs: [get, list, watch]
- apiGroups: [nhi.io]
  resources: [nonhumanidentities/status]
  verbs: [patch]
- apiGroups: [nhi.io]
  resources: [nhipolicies]
  verbs: [list, watch]
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [wgpolicyk8s.io]
  resources: [policyreports]
  verbs: [create, patch]
{{- if and .Values.auditSink.enabled .Values.auditSink.response }}
# onAnomaly Rotate/Suspend (chart README "Runtime detection"): suspend an NHI, park and restore a
# suspended identity's binding subjects (bind: an update must not need the role's permissions),
# delete the pod whose token was replayed.
- apiGroups: [nhi.io]
  resources: [nonhumanidentities]
  verbs: [patch]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings, clusterrolebindings]
  verbs: [get, update]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles]
  verbs: [bind]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, delete]
{{- end }}
{{- if not .Values.certManager.enabled }}
- apiGroups: [admissionregistration.k8s.io]
  resources: [validatingwebhookconfigurations]
  resourceNames: [nhi-operator]
  verbs: [get, update]
{{- end }}
{{- end -}}

{{/* The rules the operator uses in its own namespace only: the reconcilers' Lease, the audit sink's learned baseline. */}}
{{- define "nhi-operator.namespaceRules" -}}
{{- if .Values.controllers }}
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, create, update]
{{- end }}
{{- if .Values.auditSink.enabled }}
# The learned baseline (new-behaviour) and the usage behind status.rightsize: ConfigMaps
# <baselineConfigMap>-0…15 and <baselineConfigMap>-usage-0…15 (the stores' maxParts), listed,
# created, updated and trimmed; no other ConfigMap is updated or deleted.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [list, create]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [{{ range $i, $_ := until 16 }}{{ if $i }}, {{ end }}{{ $.Values.auditSink.baselineConfigMap }}-{{ $i }}{{ end }}{{ range $i, $_ := until 16 }}, {{ $.Values.auditSink.baselineConfigMap }}-usage-{{ $i }}{{ end }}]
  verbs: [update, delete]
{{- end }}
{{- end -}}

{{/* The namespaces the webhook never judges: kube-system, the release namespace, then the values'. */}}
{{- define "nhi-operator.excludedNamespaces" -}}
{{- $ns := list "kube-system" .Release.Namespace -}}
{{- range .Values.webhook.excludeNamespaces }}{{ $ns = append $ns . }}{{ end -}}
{{- toJson (uniq $ns) -}}
{{- end -}}
