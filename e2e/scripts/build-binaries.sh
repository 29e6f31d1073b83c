#!/usr/bin/env bash
# Builds (or reuses) the control-plane binaries into a cache folder keyed by version and prints it.
# Honours KUBEBUILDER_ASSETS: a folder that already has etcd, kube-apiserver and kubectl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"
cache_root="${NHI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nhi-operator}"
out="$cache_root/control-plane/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$out"

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-binaries: '$1' is missing. $2" >&2; exit 1; }; }

build_kube() {
  local name="$1" major minor
  [ -x "$out/$name" ] && return 0
  need go "Install Go >= 1.25 (https://go.dev/dl/) or set KUBEBUILDER_ASSETS to a folder with envtest binaries."
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="${KUBE_VERSION#v*.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X '$pkg.gitVersion=$KUBE_VERSION' -X '$pkg.gitMajor=$major' -X '$pkg.gitMinor=$minor'"
    ld="$ld -X '$pkg.gitTreeState=clean' -X '$pkg.buildDate=1970-01-01T00:00:00Z'"
  done
  echo "build-binaries: building $name $KUBE_VERSION (first time only; several minutes)" >&2
  (cd "$here/toolchain/kube" && CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace \
     -ldflags "$ld" -o "$out/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$out/$name.tmp" "$out/$name"
}

build_etcd() {
  [ -x "$out/etcd" ] && return 0
  need go "Install Go >= 1.25 (https://go.dev/dl/) or set KUBEBUILDER_ASSETS to a folder with envtest binaries."
  echo "build-binaries: building etcd $ETCD_VERSION (first time only)" >&2
  (cd "$here/toolchain/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$out/etcd.tmp" "$out/etcd"
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in etcd kube-apiserver; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { echo "build-binaries: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable '$b'" >&2; exit 1; }
    ln -sf "$KUBEBUILDER_ASSETS/$b" "$out/$b"
  done
fi
build_etcd
build_kube kube-apiserver
build_kube kube-controller-manager
echo "$out"
