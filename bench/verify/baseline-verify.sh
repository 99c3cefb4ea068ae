#!/usr/bin/env bash
# Baseline for the benchmark: the seeds' verify.sh, its six verification points done the
# way the script did them, one kubectl call at a time.
#   baseline-verify.sh [NAMESPACE] [RELEASE] [SECRET]
# Exit 0 when every point holds, 1 otherwise.
set -u
NS=${1:-todo}
RELEASE=${2:-todo}
FULL="${RELEASE}-todo-chatbot"
SECRET=${3:-${FULL}-secrets}
fail=0
ok() { echo "✔ $*"; }
bad() { echo "✘ $*"; fail=1; }

# 1. The cluster is reachable.
if kubectl cluster-info >/dev/null 2>&1; then ok "cluster reachable"; else bad "cluster unreachable"; fi

# 2. All pods are Running and Ready.
pods=$(kubectl get pods -n "$NS" -l "app.kubernetes.io/instance=$RELEASE" \
  -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
if [ -n "$pods" ] && ! echo "$pods" | grep -qv ' Running True$'; then ok "pods running"; else bad "pods not ready"; echo "$pods"; fi

# 3. Both Deployments are rolled out.
for c in backend frontend; do
  if kubectl rollout status "deployment/$FULL-$c" -n "$NS" --timeout=10s >/dev/null 2>&1; then ok "$c rolled out"; else bad "$c not rolled out"; fi
done

# 4. Services exist with their NodePorts.
for c in backend frontend; do
  np=$(kubectl get svc "$FULL-$c" -n "$NS" -o jsonpath='{.spec.ports[0].nodePort}' 2>/dev/null)
  if [ -n "$np" ]; then ok "service $c (nodePort $np)"; else bad "service $c missing"; fi
done

# 5. Health endpoints answer (through the API server's service proxy: NodePorts are not
#    reachable from the host with minikube's Docker driver).
if kubectl get --raw "/api/v1/namespaces/$NS/services/$FULL-backend:http/proxy/health" >/dev/null 2>&1; then ok "backend /health"; else bad "backend /health"; fi
if kubectl get --raw "/api/v1/namespaces/$NS/services/$FULL-frontend:http/proxy/api/health" >/dev/null 2>&1; then ok "frontend /api/health"; else bad "frontend /api/health"; fi

# 6. Configuration: the ConfigMap and the Secret exist and the Secret has the keys.
if kubectl get configmap "$FULL-config" -n "$NS" >/dev/null 2>&1; then ok "configmap"; else bad "configmap missing"; fi
keys=$(kubectl get secret "$SECRET" -n "$NS" -o jsonpath='{.data}' 2>/dev/null)
for k in DATABASE_URL BETTER_AUTH_SECRET; do
  case "$keys" in *"\"$k\""*) ok "secret key $k" ;; *) bad "secret key $k missing" ;; esac
done

exit $fail
