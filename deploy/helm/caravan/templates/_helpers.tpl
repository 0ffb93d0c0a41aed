{{- define "caravan.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "caravan.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "caravan.labels" -}}
{{ include "caravan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Secrets as environment variables, shared by the replicas and the migration Job. */}}
{{- define "caravan.secretEnv" -}}
{{- $s := .Values.secrets -}}
- name: CARAVAN__DATABASE__URL
  valueFrom: {secretKeyRef: {name: {{ $s.databaseUrl.name }}, key: {{ $s.databaseUrl.key }}}}
- name: CARAVAN__AUTH__JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ $s.jwtSecret.name }}, key: {{ $s.jwtSecret.key }}}}
- name: CARAVAN_ADMIN_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ $s.adminPassword.name }}, key: {{ $s.adminPassword.key }}}}
- name: CARAVAN__STORAGE__S3__ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ $s.s3AccessKeyId.name }}, key: {{ $s.s3AccessKeyId.key }}}}
- name: CARAVAN__STORAGE__S3__SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ $s.s3SecretAccessKey.name }}, key: {{ $s.s3SecretAccessKey.key }}}}
{{- end -}}
