#!/usr/bin/env bash
# make test-packages: the .deb and .rpm packages of this machine's
# architecture (scripts/packages/{deb,rpm}.sh, made by packages-test-build
# from make build's libraries and dist-test-build's static CLI), tested as
# an ops team installs them (issue 22; docs/dist.md):
#   - lintian: no errors (kept warnings are printed);
#   - the three .debs installed with dpkg into a throwaway Debian root
#     (build/packages/amd64-root, scripts/packages/amd64-root.sh) used with
#     chroot, so this machine's /usr never holds them: there, kcat loads the
#     plugin by its SONAME alone (plugin.library.paths=libkafka_iam_oauth.so.0)
#     and produces as the IAM user; examples/c builds with nothing but
#     `pkg-config kafka_iam_oauth`, links the SONAME and runs; `kafka-iam-oauth
#     whoami` runs from PATH; dpkg -P removes them again (trap);
#   - the .rpms: rpm -qpl (layout), -qpR/--provides (dependencies), and an
#     install into an empty `rpm --root`;
#   - licences and SBOM in every package and in the C tarball.
# Env: KIO_VERSION, PKG_OUT (the packages), PKG_ROOT (the Debian root),
# PKG_TARBALL, harness env.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
version=${KIO_VERSION:?} out=${PKG_OUT:?} droot=${PKG_ROOT:?} tarball=${PKG_TARBALL:?}
major=${version%%.*}
arch=$(dpkg --print-architecture) rarch=$(uname -m)
# Bounds: kcat's produce (token mint + TLS + one message) and the C example's
# produce/consume round trip, as in tests/plugin and tests/install.
KCAT_TIMEOUT=60 EXAMPLE_TIMEOUT=180
logs=build/packages/logs; mkdir -p "$logs"
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
check() {
  local name=$1; shift
  if "$@" >"$logs/$name.log" 2>&1; then ok "$name"; else
    bad "$name (build/packages/logs/$name.log):"; tail -n 20 "$logs/$name.log" | sed 's/^/    /' >&2
  fi
}
debs=("$out/libkafka-iam-oauth${major}_${version}_$arch.deb" "$out/libkafka-iam-oauth-dev_${version}_$arch.deb"
      "$out/kafka-iam-oauth_${version}_$arch.deb")
rpms=("$out/kafka-iam-oauth-libs-$version-1.$rarch.rpm" "$out/kafka-iam-oauth-devel-$version-1.$rarch.rpm"
      "$out/kafka-iam-oauth-$version-1.$rarch.rpm")
for f in "${debs[@]}" "${rpms[@]}"; do [ -f "$f" ] || bad "missing $f (make packages-test-build)"; done
[ "$fail" -eq 0 ] || { echo "test-packages: $pass passed, $fail failed"; exit 1; }
for f in "${debs[@]}" "${rpms[@]}"; do echo "    $(basename "$f"): $(du -k "$f" | cut -f1) KiB"; done

# ---- lintian
# packages-test-build runs lintian in the background prep (3 min on 2 busy
# cores, no broker needed) into $out/lintian.txt; run here when absent.
lint() {
  if [ -f "$out/lintian.txt" ] && [ "$out/lintian.txt" -nt "${debs[0]}" ]; then cp "$out/lintian.txt" "$logs/lintian.txt"
  else lintian --tag-display-limit 0 "${debs[@]}" >"$logs/lintian.txt"; fi
  cat "$logs/lintian.txt"
  ! grep -q '^E: ' "$logs/lintian.txt"
}
t0=$(date +%s)
check lintian-no-errors lint
echo "    lintian: $(( $(date +%s) - t0 )) s"
grep '^W: ' "$logs/lintian.txt" | sed 's/^/    kept: /'

# ---- licences and SBOM in every artifact
licences() {
  for f in "${debs[@]}"; do
    p=$(dpkg-deb -f "$f" Package) list=$(dpkg-deb -c "$f")
    for want in copyright THIRD-PARTY-LICENSES.gz sbom.cdx.json; do
      grep -q "usr/share/doc/$p/$want\$" <<<"$list" || { echo "$f: no /usr/share/doc/$p/$want"; return 1; }
    done
  done
  for f in "${rpms[@]}"; do
    n=$(rpm -qp --qf '%{NAME}' "$f" 2>/dev/null) lic=$(rpm -qpL "$f" 2>/dev/null)
    for want in LICENSE THIRD-PARTY-LICENSES.txt sbom.cdx.json; do
      grep -qx "/usr/share/licenses/$n/$want" <<<"$lic" || { echo "$f: %license lacks $want"; return 1; }
    done
  done
  t=$(tar -tzf "$tarball")
  for want in LICENSE THIRD-PARTY-LICENSES.txt sbom.cdx.json; do
    grep -q "^[^/]*/$want\$" <<<"$t" || { echo "$tarball: no $want"; return 1; }
  done
  # The SBOM names the C code's crate (aws-lc-sys) and is CycloneDX.
  tar -xzOf "$tarball" --wildcards '*/sbom.cdx.json' | python3 -c '
import json, sys
b = json.load(sys.stdin)
assert b["bomFormat"] == "CycloneDX", b["bomFormat"]
names = {c["name"] for c in b["components"]}
assert "aws-lc-sys" in names and "tokio" in names, sorted(names)[:10]
assert all(c.get("licenses") for c in b["components"]), [c["name"] for c in b["components"] if not c.get("licenses")]
print(len(names), "components, all with a licence")'
}
check licences-and-sbom-in-every-package licences

# ---- the .debs in the throwaway root
[ -f "$droot/.complete" ] || bad "no Debian root at $droot (make packages-test-build)"
in_root() { chroot "$droot" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
cleanup() {
  in_root dpkg -P kafka-iam-oauth "libkafka-iam-oauth-dev" "libkafka-iam-oauth$major" >/dev/null 2>&1
  rm -rf "$droot/tmp/kio-packages"
}
trap cleanup EXIT
cleanup
mkdir -p "$droot/tmp/kio-packages"
cp "${debs[@]}" "$KIO_CA_PEM" examples/c/produce_consume.c "$droot/tmp/kio-packages/"
in_root_aws() {
  chroot "$droot" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID="$KIO_USER_ACCESS_KEY_ID" \
    AWS_SECRET_ACCESS_KEY="$KIO_USER_SECRET_ACCESS_KEY" "$@"
}
install_debs() {
  in_root dpkg -i $(printf '/tmp/kio-packages/%s ' "${debs[@]##*/}") &&
  in_root dpkg -L "libkafka-iam-oauth$major" && in_root ls -l "/usr/lib/$(in_root dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$rarch-linux-gnu")/"
}
check dpkg-installs-the-three-debs install_debs
config="region=eu-west-1,audience=$KIO_AUDIENCE,sts_endpoint=$KIO_EMULATOR_URL"
issued() { curl -fsS "$KIO_EMULATOR_URL/_emulator/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_issued"])'; }
msg="packages-kcat-$(date +%s%N)"
kcat_plugin() {
  local before after
  before=$(issued)
  echo "$msg" | in_root_aws timeout "$KCAT_TIMEOUT" kcat -b "$KIO_BOOTSTRAP_SSL" -X security.protocol=SASL_SSL \
    -X ssl.ca.location=/tmp/kio-packages/$(basename "$KIO_CA_PEM") -X sasl.mechanisms=OAUTHBEARER \
    -X plugin.library.paths=libkafka_iam_oauth.so.$major -X "sasl.oauthbearer.config=$config" -P -t "$KIO_TOPIC" || return 1
  after=$(issued)
  echo "emulator tokens_issued $before -> $after"
  [ "$after" -gt "$before" ] || return 1
  # Read back without a group (the topic's ACLs are the IAM user's).
  in_root_aws timeout "$KCAT_TIMEOUT" kcat -b "$KIO_BOOTSTRAP_SSL" -X security.protocol=SASL_SSL \
    -X ssl.ca.location=/tmp/kio-packages/$(basename "$KIO_CA_PEM") -X sasl.mechanisms=OAUTHBEARER \
    -X plugin.library.paths=libkafka_iam_oauth.so.$major -X "sasl.oauthbearer.config=$config" \
    -C -t "$KIO_TOPIC" -o beginning -e | grep -qxF "$msg"
}
check kcat-loads-the-plugin-by-soname-and-produces kcat_plugin
example() {
  in_root sh -c 'cd /tmp/kio-packages && cc -Wall -Wextra -Werror produce_consume.c -o produce_consume $(pkg-config --cflags --libs kafka_iam_oauth) -lrdkafka' || return 1
  in_root readelf -d /tmp/kio-packages/produce_consume 2>/dev/null | grep NEEDED || readelf -d "$droot/tmp/kio-packages/produce_consume" | grep NEEDED
  readelf -d "$droot/tmp/kio-packages/produce_consume" | grep -q "NEEDED.*\[libkafka_iam_oauth.so.$major\]" || return 1
  in_root_aws KIO_BOOTSTRAP_SSL="$KIO_BOOTSTRAP_SSL" KIO_CA_PEM="/tmp/kio-packages/$(basename "$KIO_CA_PEM")" \
    KIO_AUDIENCE="$KIO_AUDIENCE" KIO_EMULATOR_URL="$KIO_EMULATOR_URL" KIO_TOPIC="$KIO_TOPIC" KIO_GROUP="$KIO_GROUP" \
    timeout "$EXAMPLE_TIMEOUT" /tmp/kio-packages/produce_consume
}
check c-example-builds-with-pkg-config-alone-and-runs example
whoami_path() {
  local out
  out=$(in_root_aws sh -c "command -v kafka-iam-oauth && kafka-iam-oauth --config '$config' whoami") || { echo "$out"; return 1; }
  echo "$out"; grep -q '^/usr/bin/kafka-iam-oauth$' <<<"$out" && grep -qF "$KIO_USER_ARN" <<<"$out"
}
check cli-whoami-from-path whoami_path
remove_debs() { cleanup; ! in_root dpkg -s "libkafka-iam-oauth$major" 2>/dev/null && [ ! -e "$droot/usr/bin/kafka-iam-oauth" ]; }
check dpkg-purges-them remove_debs

# ---- the .rpms
rpm_layout() {
  for f in "${rpms[@]}"; do echo "== $(basename "$f")"; rpm -qpl "$f"; echo "-- requires"; rpm -qpR "$f"; done
  # Captured first: grep -q ending a pipe early would fail it under pipefail.
  local libs devel cli provides requires
  libs=$(rpm -qpl "${rpms[0]}") provides=$(rpm -qp --provides "${rpms[0]}") devel=$(rpm -qpl "${rpms[1]}")
  requires=$(rpm -qpR "${rpms[1]}") cli=$(rpm -qpl "${rpms[2]}")
  grep -qx "/usr/lib64/libkafka_iam_oauth.so.$major" <<<"$libs" &&
  grep -q "^libkafka_iam_oauth.so.$major()(64bit)" <<<"$provides" &&
  grep -qx /usr/lib64/pkgconfig/kafka_iam_oauth.pc <<<"$devel" &&
  grep -qx /usr/include/kafka_iam_oauth.h <<<"$devel" &&
  grep -q "^kafka-iam-oauth-libs(.*) = $version-1" <<<"$requires" &&
  grep -qx ca-certificates <<<"$(rpm -qpR "${rpms[0]}")" &&
  grep -qx /usr/bin/kafka-iam-oauth <<<"$cli"
}
check rpm-layout-and-dependencies rpm_layout
rpm_root() {
  local r; r=$(mktemp -d "${TMPDIR:-/tmp}/kio-rpmroot.XXXXXX")
  # --nodeps --noscripts: the root has no glibc RPM nor /sbin/ldconfig; this
  # proves the transaction and the files' places.
  rpm --root "$r" --initdb && rpm --root "$r" -i --nodeps --noscripts "${rpms[@]}" && rpm --root "$r" -qa | sort &&
  [ -L "$r/usr/lib64/libkafka_iam_oauth.so.$major" ] && [ -f "$r/usr/lib64/libkafka_iam_oauth.a" ] && [ -x "$r/usr/bin/kafka-iam-oauth" ]
  local rc=$?; rm -rf "$r"; return $rc
}
check rpm-installs-into-an-empty-root rpm_root

echo "test-packages: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
