#!/usr/bin/env bash
# The RFC 4475 torture messages must be byte-identical to the RFC's archive:
# a changed byte (an editor fixing line ends, say) would quietly change what
# the torture tests test.
set -euo pipefail
cd "${PARLEY_SRC:-.}/tests/data/rfc4475"
n=$(wc -l < SHA256SUMS)
if sha256sum --quiet -c SHA256SUMS; then
    echo "$n passed, 0 failed"
else
    echo "0 passed, $n failed"
    exit 1
fi
