{{/*
Chart name, truncated to 63 characters (DNS label).
*/}}
{{- define "dripline-tools.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: fullnameOverride; else the release name when it contains the chart
name; else <release>-<chart>. Truncated to 52 characters so that "-<component>" suffixes
(services add their own name) stay within 63.
*/}}
{{- define "dripline-tools.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "dripline-tools.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every object carries.
*/}}
{{- define "dripline-tools.labels" -}}
helm.sh/chart: {{ include "dripline-tools.chart" . }}
app.kubernetes.io/name: {{ include "dripline-tools.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "dripline-tools.imageTag" . | replace "+" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dripline
{{- end }}

{{/*
Selector labels of one component: (dict "ctx" $ "component" "logger").
*/}}
{{- define "dripline-tools.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dripline-tools.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
All labels of one component's objects: (dict "ctx" $ "component" "logger").
*/}}
{{- define "dripline-tools.componentLabels" -}}
{{ include "dripline-tools.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "dripline-tools.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dripline-tools.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dripline-tools.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
The image reference: repository:tag, or repository@digest.
*/}}
{{- define "dripline-tools.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "dripline-tools.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Broker settings and login as environment variables. The password only ever comes from a
secretKeyRef.
*/}}
{{- define "dripline-tools.brokerEnv" -}}
- name: DRIPLINE_BROKER
  {{- if .Values.broker.hosts }}
  value: {{ join "," .Values.broker.hosts | quote }}
  {{- else }}
  value: {{ required "broker.host is required" .Values.broker.host | quote }}
  {{- end }}
- name: DRIPLINE_BROKER_PORT
  value: {{ .Values.broker.port | quote }}
{{- with .Values.broker.existingSecret }}
- name: DRIPLINE_USER
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.broker.usernameKey }}
- name: DRIPLINE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.broker.passwordKey }}
{{- else }}
{{- with .Values.broker.username }}
- name: DRIPLINE_USER
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Database settings and login as environment variables (libpq names, and POSTGRES_USER /
POSTGRES_PASSWORD as dripline-python reads them).
*/}}
{{- define "dripline-tools.databaseEnv" -}}
- name: PGHOST
  {{- if .Values.database.hosts }}
  value: {{ join "," .Values.database.hosts | quote }}
  {{- else }}
  value: {{ required "database.host is required" .Values.database.host | quote }}
  {{- end }}
- name: PGPORT
  value: {{ .Values.database.port | quote }}
- name: PGDATABASE
  value: {{ required "database.name is required" .Values.database.name | quote }}
{{- with .Values.database.sslMode }}
- name: PGSSLMODE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.database.targetSessionAttrs }}
- name: PGTARGETSESSIONATTRS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.database.existingSecret }}
- name: POSTGRES_USER
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.database.usernameKey }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.database.passwordKey }}
{{- else }}
{{- with .Values.database.username }}
- name: POSTGRES_USER
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Broker flags that have no environment variable.
*/}}
{{- define "dripline-tools.brokerArgs" -}}
{{- with .Values.broker.vhost }}
- --vhost
- {{ . | quote }}
{{- end }}
{{- if .Values.broker.tls }}
- --tls
{{- end }}
{{- end }}

{{/*
--auth-file, when an auth-file Secret is mounted.
*/}}
{{- define "dripline-tools.authFileArgs" -}}
{{- if .Values.authFile.secretName }}
- --auth-file
- {{ include "dripline-tools.authFilePath" . }}
{{- end }}
{{- end }}

{{- define "dripline-tools.authFilePath" -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.authFile.mountPath) .Values.authFile.key }}
{{- end }}

{{/*
Logging flags of the long-running programs.
*/}}
{{- define "dripline-tools.logArgs" -}}
- --log-format
- {{ .Values.logging.format }}
{{- $v := int .Values.logging.verbosity }}
{{- if gt $v 0 }}
- -{{ repeat $v "v" }}
{{- end }}
{{- end }}

{{/*
Volumes every pod has: a writable /tmp (the root filesystem is read-only) and the auth file.
*/}}
{{- define "dripline-tools.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.authFile.secretName }}
- name: auth-file
  secret:
    secretName: {{ .Values.authFile.secretName }}
    defaultMode: 0440
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "dripline-tools.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.authFile.secretName }}
- name: auth-file
  mountPath: {{ .Values.authFile.mountPath }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-level settings every component shares (ServiceAccount, pull secrets, security context,
scheduling).
*/}}
{{- define "dripline-tools.podSpecCommon" -}}
serviceAccountName: {{ include "dripline-tools.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Container fields every container shares: image, pull policy, security context, HOME.
*/}}
{{- define "dripline-tools.containerCommon" -}}
image: {{ include "dripline-tools.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}

{{/*
Environment every container gets after its own: HOME on the writable /tmp, then extraEnv.
*/}}
{{- define "dripline-tools.commonEnv" -}}
- name: HOME
  value: /tmp
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The Kubernetes name of one dl-serve service entry: (dict "ctx" $ "service" .).
*/}}
{{- define "dripline-tools.serviceName" -}}
{{- $name := required "every services[] entry needs a name" .service.name }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "services[].name %q: use lower case letters, digits and '-' (it names Kubernetes objects)" $name) }}
{{- end }}
{{- printf "%s-%s" (include "dripline-tools.fullname" .ctx) $name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The text of one service's dl-serve config: configYaml verbatim (comments, quoting and number
formats kept), else config as YAML. (dict "ctx" $ "service" .)
*/}}
{{- define "dripline-tools.serviceConfigText" -}}
{{- if .service.configYaml }}
{{- .service.configYaml }}
{{- else }}
{{- toYaml (required (printf "services[%s]: config (or configYaml) is required: the dl-serve config" .service.name) .service.config) }}
{{- end }}
{{- end }}

{{/*
One service's config as a map, the deprecated v4 layout (everything under runtime-config:)
flattened, for reading its name, endpoints and auth_file. (dict "ctx" $ "service" .)
*/}}
{{- define "dripline-tools.serviceConfigMap" -}}
{{- $config := fromYaml (include "dripline-tools.serviceConfigText" .) }}
{{- $runtime := index $config "runtime-config" }}
{{- if kindIs "map" $runtime }}
{{- $config = merge (dict) $runtime (omit $config "runtime-config") }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/*
A pod's extra labels or annotations: the chart-wide map with the component's own on top (a key
in both takes the component's value); empty when both are. (dict "global" .Values.podLabels
"component" $component.podLabels)
*/}}
{{- define "dripline-tools.podExtras" -}}
{{- with mergeOverwrite (dict) (.global | default dict) (.component | default dict) }}
{{- toYaml . }}
{{- end }}
{{- end }}
