#!/usr/bin/env bash
# Start the PostgreSQL and Redis the tests use when they are not answering.
set -uo pipefail

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! redis_up; then
    echo "services: starting redis" >&2
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
if ! pg_up; then
    echo "services: starting postgresql" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
for _ in $(seq 1 30); do
    if redis_up && pg_up; then exit 0; fi
    sleep 1
done
echo "services: redis or postgresql did not come up" >&2
exit 1
