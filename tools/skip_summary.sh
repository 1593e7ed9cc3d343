#!/usr/bin/env bash
# Ends a test run with what cargo's "N passed" does not say: which tests skipped and
# why. A test that cannot run here (no ../shared data, no PyTorch, a sound card present)
# prints "SKIPPED <test>: <why>" to stderr and passes without checking anything.
#
#   tools/skip_summary.sh LOG      LOG holds the test run's stdout and stderr
set -euo pipefail
log=${1:?usage: tools/skip_summary.sh LOG}
skips=$(grep -a '^SKIPPED ' "$log" | sort -u || true)
if [ -z "$skips" ]; then
    echo "skipped: none (every test checked what it tests)"
else
    echo "skipped: $(printf '%s\n' "$skips" | wc -l) test(s) passed without checking anything:"
    printf '%s\n' "$skips" | sed 's/^SKIPPED /  /'
fi
