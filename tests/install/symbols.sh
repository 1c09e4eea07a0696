# shellcheck shell=bash
# Sourced by tests/install/run.sh (make test-install) and tests/dist/run.sh
# (make test-dist): what each artifact may export, checked the same way for
# the native build and every cross-built one. Each function prints what it
# saw and returns non-zero on a violation. NM names the nm that reads the
# file's architecture (nm for x86_64, aarch64-linux-gnu-nm for arm64);
# readelf reads any ELF.

# The shared library: only kafka_iam_oauth_* and the plugin entry conf_init.
kio_so_exports() {
  local syms
  syms=$("${NM:-nm}" -D --defined-only "$1" | awk '{print $NF}' | sort) || return 1
  echo "$1: $(wc -l <<<"$syms") dynamic symbols defined: $(grep -c '^kafka_iam_oauth_' <<<"$syms") kafka_iam_oauth_*, $(grep -cx conf_init <<<"$syms") conf_init"
  grep -qx conf_init <<<"$syms" || { echo "no conf_init (the plugin entry)"; return 1; }
  if grep -v -E '^(kafka_iam_oauth_|conf_init$)' <<<"$syms"; then echo "^ exported but not ours"; return 1; fi
}

# The static library: no conf_init; every function it defines with C linkage
# and default visibility is kafka_iam_oauth_*, except what the Rust
# toolchain and aws-lc put in every Rust static library (aws-lc's own
# versioned prefix aws_lc_<version>_*, and rust_eh_personality). Hidden and
# weak helpers (compiler builtins, aws-lc assembly) are not visible to a
# program's own definitions the same way and are only counted.
kio_a_exports() {
  local a=$1 syms
  if "${NM:-nm}" --defined-only "$a" 2>/dev/null | awk '$3=="conf_init"' | grep .; then echo "^ the static library defines conf_init"; return 1; fi
  echo "$a: nm --defined-only: no conf_init"
  syms=$(readelf -sW "$a" 2>/dev/null | awk '$4=="FUNC" && ($5=="GLOBAL" || $5=="WEAK") && $7!="UND" {print $5, $6, $8}' |
    grep -v -E ' (_ZN|_R)' | sort -u)
  [ -n "$syms" ] || { echo "no symbols read from $a"; return 1; }
  echo "C-linkage functions by binding, visibility and prefix:"
  sed -E 's/ (kafka_iam_oauth_|aws_lc_[0-9]+_[0-9]+_[0-9]+_|__)[^ ]*$/ \1*/' <<<"$syms" |
    awk '{print $1, $2, ($3 ~ /\*$/ || $3 == "rust_eh_personality" ? $3 : "other")}' | sort | uniq -c | sed 's/^/  /'
  grep -c ' DEFAULT kafka_iam_oauth_' <<<"$syms" | sed 's/^/kafka_iam_oauth_* with default visibility: /'
  if grep ' DEFAULT ' <<<"$syms" | grep -v -E ' DEFAULT (kafka_iam_oauth_|aws_lc_[0-9]+_[0-9]+_[0-9]+_|rust_eh_personality$)'; then
    echo "^ C-linkage functions with default visibility that are not kafka_iam_oauth_*"; return 1
  fi
}

# The Python extension: PyInit__native and nothing else.
kio_py_exports() {
  local syms
  echo "$1"
  syms=$("${NM:-nm}" -D --defined-only "$1" | awk '{print $NF}' | sort) || return 1
  echo "$syms"
  [ "$syms" = "PyInit__native" ]
}

# A static executable (the musl CLI): no program interpreter, no shared
# library needed, so nothing to export or import.
kio_static_exe() {
  local hdr dyn
  hdr=$(readelf -lW "$1") || return 1
  dyn=$(readelf -dW "$1" 2>/dev/null)
  echo "$1: $(grep -c LOAD <<<"$hdr") LOAD segments; $(grep -c NEEDED <<<"$dyn") NEEDED"
  if grep -q INTERP <<<"$hdr"; then echo "has a program interpreter (dynamically linked):"; grep -A1 INTERP <<<"$hdr"; return 1; fi
  if grep NEEDED <<<"$dyn"; then echo "^ needs shared libraries"; return 1; fi
}
