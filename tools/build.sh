#!/usr/bin/env bash
# Build the real engine's binaries for `make e2e` from the pinned Go modules under tools/ (see tools/README.md).
#
#   tools/build.sh [GROUP...]     GROUP: kube | pulumi | langhost | provider (default: all)
#
# Binaries go to $TOOLS_BIN (default .tools/bin, git-ignored). Each binary is rebuilt only when its module's
# go.mod/go.sum or this script changed (a stamp beside the binary). The Go build cache ($GOCACHE, default
# `go env GOCACHE`) and module cache are reused across runs and clones; builds run under `nice` because the
# machines are small and shared. Timings are appended to $TOOLS_BIN/../build-times.tsv.
set -euo pipefail
cd "$(dirname "$0")"
TOOLS=$(pwd)
ROOT=$(cd .. && pwd)
BIN=${TOOLS_BIN:-$ROOT/.tools/bin}
mkdir -p "$BIN"
TIMES="$(dirname "$BIN")/build-times.tsv"
export GOFLAGS="-mod=mod -trimpath"
export CGO_ENABLED=${CGO_ENABLED:-0}
NICE=${NICE:-nice -n 10}

# version of a required module, read from the module's go.mod (the pin is the single source of truth)
modver() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

# build GROUPDIR PACKAGE OUTPUT [LDFLAGS]
build() {
  local dir=$1 pkg=$2 out=$3 ldflags=${4:-}
  local stamp
  stamp=$(cat "$TOOLS/$dir/go.mod" "$TOOLS/$dir/go.sum" "$TOOLS/build.sh" | sha256sum | cut -c1-16)
  if [[ -x "$BIN/$out" && "$(cat "$BIN/.$out.stamp" 2>/dev/null)" == "$stamp" ]]; then
    echo "  $out: up to date"
    return
  fi
  echo "  $out <- $pkg"
  local t0=$SECONDS
  (cd "$TOOLS/$dir" && $NICE go build -ldflags "-s -w $ldflags" -o "$BIN/$out" "$pkg")
  echo "$stamp" >"$BIN/.$out.stamp"
  printf '%s\t%s\t%ss\n' "$(date -u +%FT%TZ)" "$out" "$((SECONDS - t0))" | tee -a "$TIMES"
}

group_kube() {
  local k8s kv etcd
  k8s=$(modver kube k8s.io/kubernetes)
  kv=${k8s#v}
  # what `make` in kubernetes stamps into component-base/version (hack/lib/version.sh); the API server reports
  # it at /version, which clients (the Pulumi provider included) read
  local vpkg=k8s.io/component-base/version
  local kld="-X $vpkg.gitVersion=$k8s -X $vpkg.gitMajor=${kv%%.*} -X $vpkg.gitMinor=$(echo "$kv" | cut -d. -f2)"
  kld+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
  kld+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s"
  build kube go.etcd.io/etcd/server/v3 etcd
  build kube k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$kld"
  build kube k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$kld"
  build kube k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler "$kld"
  build kube sigs.k8s.io/kwok/cmd/kwok kwok
}

group_pulumi() {
  local v
  v=$(modver pulumi github.com/pulumi/pulumi/pkg/v3)
  # what pulumi's own release build stamps (pkg/v3 Makefile: -X .../sdk/v3/go/common/version.Version)
  build pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
}

group_langhost() {
  local sdkdir pyver
  build langhost github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python pulumi-language-python
  # The host runs `python -u <its dir>/pulumi-language-python-exec ...`; the executor must be the one of the Python
  # SDK the program imports (the .venv's pulumi), so it is taken from sdk/v3 at that version.
  pyver=${PULUMI_PYTHON_SDK_VERSION:-$("$ROOT/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("pulumi"))' 2>/dev/null || echo 3.272.0)}
  sdkdir=$(cd / && GOFLAGS= go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$pyver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
  echo "  pulumi-language-python-exec <- sdk/v3@v$pyver"
}

group_provider() {
  local pkg=github.com/pulumi/pulumi-kubernetes/provider/v4 dir gen ver
  dir=$(cd provider && go list -m -f '{{.Dir}}' $pkg)/cmd/pulumi-resource-kubernetes
  ver=$(modver provider $pkg)
  gen="$(dirname "$BIN")/gen/provider"
  mkdir -p "$gen"
  # the files upstream's `go generate` (generate.go) writes next to main.go before `go build`; made the same way,
  # outside the read-only module cache, and handed to the compiler through -overlay
  if [[ ! -s "$gen/schema-embed.json" || "$(cat "$gen/.version" 2>/dev/null)" != "$ver" ]]; then
    cp "$dir/schema.json" "$dir/terraform-mapping.json" "$gen/"
    chmod u+w "$gen"/*.json
    (cd provider && go build -o "$gen/generate" "$dir/generate.go")
    (cd "$gen" && VERSION=${ver#v} ./generate)
    echo "$ver" >"$gen/.version"
  fi
  # The package is compiled as a directory of our module that exists only in the overlay: its main.go is upstream's,
  # read from the module cache, next to the two generated files (the overlay may not replace files inside
  # GOMODCACHE, and nothing of upstream's is written under tools/).
  local vdir="$TOOLS/provider/cmd/pulumi-resource-kubernetes"
  printf '{"Replace":{"%s":"%s","%s":"%s","%s":"%s"}}\n' \
    "$vdir/main.go" "$dir/main.go" \
    "$vdir/schema-embed.json" "$gen/schema-embed.json" \
    "$vdir/terraform-mapping-embed.json" "$gen/terraform-mapping-embed.json" >"$gen/overlay.json"
  GOFLAGS="$GOFLAGS -overlay=$gen/overlay.json" \
    build provider ./cmd/pulumi-resource-kubernetes pulumi-resource-kubernetes "-X $pkg/pkg/version.Version=${ver#v}"
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(kube pulumi langhost provider)
for g in "${groups[@]}"; do
  echo "tools: $g"
  "group_$g"
done
