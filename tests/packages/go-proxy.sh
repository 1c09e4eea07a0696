#!/usr/bin/env bash
# make test-go-proxy: a Go user's install, outside the checkout (issue 22;
# docs/go.md, "Install"). The binding's module is served at vVERSION by a
# file-based module proxy (scripts/packages/go-proxy.sh); a new module in a
# temporary directory takes examples/go/producer's main.go, `go get`s the
# binding and confluent-kafka-go v2 into an empty module cache, builds, and
# produces as the IAM user to the harness broker, each link route:
#   static   the default: CGO_CFLAGS/CGO_LDFLAGS from the unpacked x86_64 C
#            tarball's kafka_iam_oauth.pc (PKG_CONFIG_PATH); the program
#            needs no libkafka_iam_oauth.so at run time;
#   dynamic  -tags dynamic: the same tarball's .pc through the binding's
#            `#cgo pkg-config`, LD_LIBRARY_PATH at run time. The program is
#            tests/packages/franz-producer (franz-go): confluent-kafka-go
#            reads the same tag as "link the system librdkafka", which
#            Debian's 2.0.2 is too old for (docs/go.md).
# GOPROXY is the file proxy, then this machine's module download cache
# (filled by make go-deps from proxy.golang.org), then proxy.golang.org for
# anything missing; no checksum database (the binding's version is not in
# sum.golang.org).
# Env: KIO_VERSION, PACKAGES_TARBALL (the x86_64 glibc tarball), harness env.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
version=${KIO_VERSION:?} tarball=${PACKAGES_TARBALL:?}
module=github.com/kafka-iam-oauth/kafka-iam-oauth/bindings/go
GO=${GO:-go}
# Bound: each route's go get + build (cold module cache; the build cache is
# the machine's) and the producer's 5 messages.
BUILD_TIMEOUT=600 RUN_TIMEOUT=120
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
logs=$root/build/packages/logs; mkdir -p "$logs"
host_cache=$($GO env GOMODCACHE)/cache/download
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-go-proxy.XXXXXX")
# Module caches are read-only unless -modcacherw.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

tar -xzf "$tarball" -C "$work" || { echo "no tarball $tarball" >&2; exit 1; }
prefix=$(ls -d "$work"/kafka-iam-oauth-"$version"-*/)
prefix=${prefix%/}
scripts/packages/go-proxy.sh "$work/proxy" "v$version" bindings/go

export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  AWS_ACCESS_KEY_ID=${KIO_USER_ACCESS_KEY_ID:?source the harness env.sh} AWS_SECRET_ACCESS_KEY=${KIO_USER_SECRET_ACCESS_KEY:?} \
  KAFKA_BOOTSTRAP_SERVERS=${KIO_BOOTSTRAP_SSL:?} KAFKA_SECURITY_PROTOCOL=SASL_SSL SSL_CA_LOCATION=${KIO_CA_PEM:?} \
  KAFKA_TOPIC=${KIO_TOPIC:?} SASL_OAUTHBEARER_CONFIG="region=eu-west-1,audience=${KIO_AUDIENCE:?},sts_endpoint=${KIO_EMULATOR_URL:?}"
export CGO_ENABLED=1 GOFLAGS=-modcacherw GOPROXY="file://$work/proxy,file://$host_cache,https://proxy.golang.org" \
  GOSUMDB=off GOTOOLCHAIN=local
unset CGO_CFLAGS CGO_LDFLAGS LD_LIBRARY_PATH
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig

route() {
  local name=$1 app=$work/app-$1 src=$2 client=$3; shift 3
  mkdir -p "$app" && cp "$src" "$app/"
  local t0 log=$logs/go-proxy-$name.log
  t0=$(date +%s.%N)
  if ! (cd "$app" && export GOMODCACHE=$work/modcache-$name && "$@" &&
        $GO mod init example.com/kio-producer && \
        timeout "$BUILD_TIMEOUT" $GO get "$module@v$version" "$client" &&
        timeout "$BUILD_TIMEOUT" $GO build $GO_TAGS -o producer .) >"$log" 2>&1; then
    bad "$name: go get $module@v$version + go build (build/packages/logs/$(basename "$log"))"; tail -n 20 "$log" >&2; return
  fi
  ok "$name: go get $module@v$version from the file proxy + go build, cold module cache: $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"
  grep -q "$module v$version" "$app/go.mod" || bad "$name: go.mod does not require $module v$version"
  needed=$(readelf -d "$app/producer" | grep NEEDED)
  if [ "$name" = static ]; then
    grep -q libkafka_iam_oauth <<<"$needed" && bad "static: the program needs libkafka_iam_oauth.so: $needed" ||
      ok "static: libkafka_iam_oauth linked in (no NEEDED entry for it)"
  else
    grep -q "libkafka_iam_oauth.so.${version%%.*}" <<<"$needed" && ok "dynamic: NEEDED libkafka_iam_oauth.so.${version%%.*}" ||
      bad "dynamic: no NEEDED libkafka_iam_oauth.so.${version%%.*}: $needed"
  fi
  if (cd "$app" && timeout "$RUN_TIMEOUT" env $RUN_ENV ./producer -run "go-proxy-$name-$$" -messages 5) >>"$log" 2>&1 &&
     [ "$(grep -c "producer: produced go-go-proxy-$name-$$-" "$log")" -eq 5 ] && grep -qF "$KIO_USER_ARN" "$log"; then
    ok "$name: the producer built from the module cache delivered 5 messages as $KIO_USER_ARN"
  else bad "$name: the producer failed (build/packages/logs/$(basename "$log"))"; tail -n 20 "$log" >&2; fi
}
GO_TAGS= RUN_ENV= route static examples/go/producer/main.go github.com/confluentinc/confluent-kafka-go/v2@v2.11.1 export CGO_CFLAGS="$(pkg-config --cflags kafka_iam_oauth)" CGO_LDFLAGS="$(pkg-config --libs-only-L kafka_iam_oauth)"
GO_TAGS="-tags dynamic" RUN_ENV="LD_LIBRARY_PATH=$prefix/lib" route dynamic tests/packages/franz-producer/main.go github.com/twmb/franz-go/pkg/kgo@v1.21.7 true

echo "test-go-proxy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
