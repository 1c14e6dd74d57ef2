{{/* Chart name, truncated to the 63 characters Kubernetes names allow. */}}
{{- define "kubespace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: <release>-kubespace unless the release name already contains it. */}}
{{- define "kubespace.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubespace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kubespace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kubespace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubespace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "kubespace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubespace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Embedded mode = no MySQL: SQLite in /data and the in-process bus. Returns "true" or "". */}}
{{- define "kubespace.embedded" -}}
{{- if not .Values.mysql.host }}true{{ end }}
{{- end }}

{{/* The claim backing /data, or "" when /data is an emptyDir. */}}
{{- define "kubespace.claimName" -}}
{{- if and (include "kubespace.embedded" .) .Values.persistence.enabled }}
{{- default (printf "%s-data" (include "kubespace.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}
{{- end }}

{{/*
Refuse combinations that would lose or split data. Called from the Deployment so `helm template`,
`lint` and `install` all fail with the same message.
*/}}
{{- define "kubespace.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if and (include "kubespace.embedded" .) (gt $replicas 1) }}
{{- fail (printf "replicaCount=%d is not possible in embedded mode: the embedded SQLite database lives on one volume and supports exactly one server. Set replicaCount=1, or configure an external database (mysql.host, mysql.password or mysql.existingSecret) and Redis (redis.address) to run several replicas." $replicas) }}
{{- end }}
{{- if and .Values.mysql.host (not .Values.mysql.password) (not .Values.mysql.existingSecret) }}
{{- fail "mysql.host is set but no MySQL password was given: set mysql.existingSecret (preferred) or mysql.password. The chart has no default passwords." }}
{{- end }}
{{- if and .Values.mysql.host (gt $replicas 1) (not .Values.redis.address) }}
{{- fail (printf "replicaCount=%d needs redis.address: without Redis each replica has its own in-process event bus and live updates would only reach clients of the same pod." $replicas) }}
{{- end }}
{{- if lt $replicas 0 }}
{{- fail "replicaCount must not be negative" }}
{{- end }}
{{- end }}

{{/* Name of the Secret the chart creates (SECRET_KEY, optional passwords and setup token). */}}
{{- define "kubespace.secretName" -}}
{{- include "kubespace.fullname" . }}
{{- end }}

{{/*
SECRET_KEY value (already base64 of 32 bytes, not yet base64-encoded for the Secret's data):
1. .Values.secretKey; 2. the key in this release's existing Secret (lookup; empty under
`helm template`); 3. a new random key: randAscii 32 gives 32 printable ASCII characters = 32 raw
bytes, b64enc makes them the base64 text the server expects (randAlphaNum would be fine too, but
randAscii has more entropy per byte).
*/}}
{{- define "kubespace.secretKeyValue" -}}
{{- if .Values.secretKey }}
{{- .Values.secretKey }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "kubespace.secretName" .) }}
{{- if and $existing $existing.data (hasKey $existing.data "SECRET_KEY") }}
{{- index $existing.data "SECRET_KEY" | b64dec }}
{{- else }}
{{- randAscii 32 | b64enc }}
{{- end }}
{{- end }}
{{- end }}
