#!/usr/bin/env bash
# The benchmarks. `bash bench/run.sh [delivery] [options]`: a burst of notices through real Redis,
# `wishbot worker` processes and a local WeChat, with a worker killed and a Redis outage.
# `bash bench/run.sh webhook [options]`: many users at once against gunicorn over the real
# protocol. Options: `--help` after the name.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh >/dev/null  # PostgreSQL and Redis, when they are not answering
case "${1:-}" in
    webhook) shift; exec .venv/bin/python -m bench.webhook "$@" ;;
    delivery) shift; exec .venv/bin/python -m bench.delivery "$@" ;;
    *) exec .venv/bin/python -m bench.delivery "$@" ;;
esac
