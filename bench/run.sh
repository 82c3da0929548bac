#!/usr/bin/env bash
# The delivery benchmark (bench/delivery.py): a burst of notices through real Redis, `wishbot worker`
# processes and a local WeChat, with a worker killed and a Redis outage. Options: see --help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh >/dev/null  # PostgreSQL, when it is not answering
exec .venv/bin/python -m bench.delivery "$@"
