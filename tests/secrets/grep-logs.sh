#!/usr/bin/env bash
# The last step of `make test` (suite test-secrets, mk/secrets.mk): no log a
# suite wrote contains the fake secrets of tests/secrets.rs. Greps every
# text log under build/ (each suite's logs; build trees, venvs and fuzz
# corpora skipped) and the harness run dir (broker and emulator logs).
#
# Limit: it sees only what suites wrote to files. Output that went straight
# to the terminal (test-rust's cargo test) is not kept by make test; the
# Rust test itself checks every tracing event in its own process.
set -uo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${KIO_RUN_DIR:-harness/.run}"
SECRETS=(AKIAFAKESECRETFAKE12 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET')

roots=()
for d in build "$RUN_DIR"; do [[ -d "$d" ]] && roots+=("$d"); done
if ((${#roots[@]} == 0)); then
  echo "grep-logs: no build/ or $RUN_DIR to check" >&2
  exit 1
fi

mapfile -d '' logs < <(find "${roots[@]}" \
  \( -type d \( -name '*-target' -o -name venv -o -name 'venv-*' -o -name wheels \
     -o -name corpus -o -name prefix -o -name data -o -name node_modules \) -prune \) -o \
  \( -type f \( -name '*.log' -o -name '*.out' -o -name '*.txt' -o -name '*.xml' \) -print0 \))

leaks=0
for s in "${SECRETS[@]}"; do
  if ((${#logs[@]} > 0)); then
    while IFS= read -r f; do
      echo "grep-logs: a fake secret ($s) is in $f" >&2
      grep -n -F -- "$s" "$f" | head -n 3 | cut -c1-300 >&2
      leaks=$((leaks + 1))
    done < <(grep -l -I -F -- "$s" "${logs[@]}" 2>/dev/null)
  fi
done
echo "grep-logs: ${#logs[@]} log files under ${roots[*]} checked for ${#SECRETS[@]} fake secrets: $leaks leak(s)"
((leaks == 0))
