#!/usr/bin/env bash
# The benchmarks. `bash bench/run.sh [delivery] [options]`: a burst of notices through real Redis,
# `wishbot worker` processes and a local WeChat, with a worker killed and a Redis outage.
# `bash bench/run.sh webhook [options]`: many users at once against gunicorn over the real
# protocol. `bash bench/run.sh scale [--wishes N]`: a generated city on PostgreSQL, every page,
# export, the API, 统计, digest and sweep timed with peak memory. Options: `--help` after the name.
set -euo pipefail
cd "$(dirname "$0")/.."
./dev venv  # .venv with the project, as the demo and the tests have it
bash scripts/services.sh >/dev/null  # PostgreSQL and Redis, when they are not answering
case "${1:-}" in
    webhook) shift; exec .venv/bin/python -m bench.webhook "$@" ;;
    scale) shift; exec .venv/bin/python -m bench.scale "$@" ;;
    delivery) shift; exec .venv/bin/python -m bench.delivery "$@" ;;
    *) exec .venv/bin/python -m bench.delivery "$@" ;;
esac
