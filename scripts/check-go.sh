#!/usr/bin/env bash
# Compiles the generated Go package (gen/go) and the README's Go example (clients/go/example) with `go vet`, against
# Debian's grpc-go and protobuf-go (golang-google-grpc-dev, golang-google-protobuf-dev under /usr/share/gocode) in
# GOPATH mode: no module proxy is needed, or reachable here. Exit 0 when both compile and vet clean.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null; then
  echo "check-go: go is not installed (Debian: apt-get install -y golang-go golang-google-grpc-dev golang-google-protobuf-dev)" >&2
  exit 1
fi
for lib in google.golang.org/grpc google.golang.org/protobuf google.golang.org/genproto; do
  if [ ! -d "/usr/share/gocode/src/$lib" ]; then
    echo "check-go: /usr/share/gocode/src/$lib is missing (apt-get install -y golang-google-grpc-dev golang-google-protobuf-dev)" >&2
    exit 1
  fi
done

gopath="$(mktemp -d)"
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/github.com/tollbooth"
ln -s "$PWD" "$gopath/src/github.com/tollbooth/tollbooth"
# GOPATH mode reads neither go.mod nor the network; the build cache is Go's usual one, kept between runs.
cache="${GOCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-build}"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$cache" GOFLAGS= GOPROXY=off \
  go vet github.com/tollbooth/tollbooth/gen/go/tollbooth/v1 github.com/tollbooth/tollbooth/clients/go/example
echo "gen/go and clients/go/example compile and vet clean ($(go version | cut -d' ' -f3))"
