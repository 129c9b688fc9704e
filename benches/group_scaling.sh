#!/usr/bin/env bash
# W11 and W12 (and the cross-loop spawn cost) at 1, 2, 4, 8 and 16 loops,
# as many of them as this machine has cores for (the load generator needs
# one more thread). Ratios against the peers come from the same run.
#
#     benches/group_scaling.sh               # 5 samples per contender
#     SAMPLES=9 benches/group_scaling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
loops="1 2"
for n in 4 8 16; do
    if [ "$cores" -ge "$n" ]; then
        loops="$loops $n"
    fi
done
echo "cores: $cores; loops: $loops"
TULIPA_GROUP_LOOPS="$loops" TULIPA_BENCH_SAMPLES="${SAMPLES:-5}" \
    cargo bench --bench group
