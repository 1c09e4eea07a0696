#!/usr/bin/env bash
# Checks one wheel: `auditwheel show` finds it consistent with the platform
# tag its file name claims (manylinux2014 = manylinux_2_17), it is abi3,
# it is within BUDGET_KIB, its extension exports only PyInit__native
# (tests/install/symbols.sh), and it carries the third-party licences and
# the SBOM of what the extension links, as locked in Cargo.lock
# (scripts/packages/check-wheel-licences.py). Used by make dist and make
# test-dist.
# Usage: check-wheel.sh WHEEL BUDGET_KIB   (auditwheel on PATH)
set -euo pipefail
cd "$(dirname "$0")/../.."
whl=${1:?usage: check-wheel.sh WHEEL BUDGET_KIB} budget=${2:?}
[ -f "$whl" ] || { echo "no wheel: $whl"; exit 1; }
name=$(basename "$whl" .whl)
# name-version-pythontag-abitag-platformtag(s)
plat=${name##*-}
abi=$(cut -d- -f4 <<<"$name")
[ "$abi" = abi3 ] || { echo "$name: ABI tag $abi, want abi3"; exit 1; }
shown=$(auditwheel show "$whl")
echo "$shown"
# (auditwheel wraps its lines)
got=$(tr '\n' ' ' <<<"$shown" | sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
[ -n "$got" ] || { echo "$name: auditwheel named no platform tag"; exit 1; }
claimed=$(tr . '\n' <<<"$plat" | sed -E 's/^manylinux2014_/manylinux_2_17_/')
grep -qx "$got" <<<"$claimed" || { echo "$name: auditwheel says $got, the file name claims $plat"; exit 1; }
echo "$name: auditwheel: $got (claimed: $plat)"
kib=$(( ($(stat -c %s "$whl") + 1023) / 1024 ))
echo "$name: $kib KiB (budget $budget KiB)"
[ "$kib" -le "$budget" ] || { echo "$name: over the size budget"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kio-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 -m zipfile -e "$whl" "$work"
python3 scripts/packages/check-wheel-licences.py "$work"/kafka_iam_oauth-*.dist-info Cargo.lock
ext=$(ls "$work"/kafka_iam_oauth/_native*.so)
nm=nm
[[ "$plat" == *aarch64* ]] && nm=aarch64-linux-gnu-nm
# shellcheck source=tests/install/symbols.sh
source tests/install/symbols.sh
NM=$nm kio_py_exports "$ext"
