{{/*
Full name, per the chart contract: fullnameOverride, else the release name when it already
contains "todo-chatbot", else "<release>-todo-chatbot"; 63 characters at most, no trailing "-".
*/}}
{{- define "todo-chatbot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "todo-chatbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels; call with (dict "root" $ "component" "frontend"). */}}
{{- define "todo-chatbot.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/*
Labels for every object and pod; call with (dict "root" $ "component" "frontend"), or an
empty component for objects both components share (ConfigMap, Secret, ServiceAccount).
*/}}
{{- define "todo-chatbot.labels" -}}
{{ include "todo-chatbot.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .root.Chart.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "todo-chatbot.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "todo-chatbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "todo-chatbot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The environment variable that carries the LLM API key, from llm.provider. */}}
{{- define "todo-chatbot.llmKey" -}}
{{- $keys := dict "openai" "OPENAI_API_KEY" "openrouter" "OPENROUTER_API_KEY" "cohere" "COHERE_API_KEY" -}}
{{- $key := get $keys .Values.llm.provider -}}
{{- if not $key -}}
{{- fail (printf "llm.provider must be one of openai, openrouter, cohere (got %q)" .Values.llm.provider) -}}
{{- end -}}
{{- $key -}}
{{- end -}}

{{/* Secret keys each component reads, space-separated. */}}
{{- define "todo-chatbot.secretKeys.backend" -}}
DATABASE_URL BETTER_AUTH_SECRET {{ include "todo-chatbot.llmKey" . }}
{{- end -}}
{{- define "todo-chatbot.secretKeys.frontend" -}}
BETTER_AUTH_SECRET DATABASE_URL
{{- end -}}

{{/*
Name of the Secret the pods read: secrets.existingSecret in mode existingSecret, else
secrets.name, else "<fullname>-secrets".
*/}}
{{- define "todo-chatbot.secretName" -}}
{{- if eq .Values.secrets.mode "existingSecret" -}}
{{- if not .Values.secrets.existingSecret -}}
{{- fail "secrets.mode is existingSecret but secrets.existingSecret is empty: set it to the name of the Secret you created (kubectl create secret generic NAME --from-env-file=.env)" -}}
{{- end -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- default (printf "%s-secrets" (include "todo-chatbot.fullname" .)) .Values.secrets.name -}}
{{- end -}}
{{- end -}}

{{/*
Checks the secret values for the chosen mode and fails rendering with a message that says
what to do. Renders nothing.
*/}}
{{- define "todo-chatbot.validateSecrets" -}}
{{- $mode := .Values.secrets.mode -}}
{{- $required := list "DATABASE_URL" "BETTER_AUTH_SECRET" (include "todo-chatbot.llmKey" .) -}}
{{- if eq $mode "sealed" -}}
{{- if empty .Values.secrets.sealed.encryptedData -}}
{{- fail "secrets.mode is sealed but secrets.sealed.encryptedData is empty: run `helm todo-secrets init` and install with `-f` the values file it writes, or choose secrets.mode=existingSecret" -}}
{{- end -}}
{{- $missing := list -}}
{{- range $required -}}
{{- if not (get $.Values.secrets.sealed.encryptedData .) -}}
{{- $missing = append $missing . -}}
{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "secrets.sealed.encryptedData lacks %s (llm.provider=%s): re-run `helm todo-secrets init`" (join ", " $missing) .Values.llm.provider) -}}
{{- end -}}
{{- else if eq $mode "inline" -}}
{{- $missing := list -}}
{{- range $required -}}
{{- if not (get $.Values.secrets.inline .) -}}
{{- $missing = append $missing . -}}
{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- fail (printf "secrets.mode is inline but secrets.inline lacks %s (llm.provider=%s)" (join ", " $missing) .Values.llm.provider) -}}
{{- end -}}
{{- else if eq $mode "existingSecret" -}}
{{- $_ := include "todo-chatbot.secretName" . -}}
{{- else -}}
{{- fail (printf "secrets.mode must be sealed, existingSecret or inline (got %q)" $mode) -}}
{{- end -}}
{{- end -}}

{{/*
checksum/secret: changes when the chart-managed secret material changes, so pods roll.
For existingSecret only the name is known; restart the pods after changing that Secret.
*/}}
{{- define "todo-chatbot.secretChecksum" -}}
{{- $mode := .Values.secrets.mode -}}
{{- if eq $mode "sealed" -}}
{{- toJson .Values.secrets.sealed.encryptedData | sha256sum -}}
{{- else if eq $mode "inline" -}}
{{- toJson .Values.secrets.inline | sha256sum -}}
{{- else -}}
{{- include "todo-chatbot.secretName" . | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* image reference; call with the component's image values and the root. */}}
{{- define "todo-chatbot.image" -}}
{{- $tag := toString (default .root.Chart.AppVersion .image.tag) -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "%s: the image tag must not be \"latest\" (with pullPolicy IfNotPresent a stale image would run); use a version tag" .image.repository) -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}
