#!/usr/bin/env bash
# Makes sure the Postgres (127.0.0.1:5432, user postgres, trust auth) and Redis (127.0.0.1:6379) that the tests use are
# answering. Starts the Debian-packaged ones when they are installed but down; otherwise says exactly what is missing.
# Used by .ci/run; run it yourself before `npm test`.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

tcp_open() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

pg_answers() {
  if command -v psql >/dev/null 2>&1; then
    [ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -XtAc 'select 1' 2>/dev/null)" = "1" ]
  else
    tcp_open "$PG_HOST" "$PG_PORT"
  fi
}

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    tcp_open "$REDIS_HOST" "$REDIS_PORT"
  fi
}

wait_for() { # name check-function
  for _ in $(seq 1 60); do
    if "$2"; then return 0; fi
    sleep 0.5
  done
  echo "ensure-services: $1 was started but does not answer after 30 s" >&2
  return 1
}

missing=()

if pg_answers; then
  echo "Postgres: answering on $PG_HOST:$PG_PORT"
elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  echo "Postgres: not answering on $PG_HOST:$PG_PORT; starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  if ! wait_for Postgres pg_answers; then
    if tcp_open "$PG_HOST" "$PG_PORT"; then
      echo "ensure-services: Postgres listens on $PG_HOST:$PG_PORT but 'psql -h $PG_HOST -U postgres' fails:" \
        "the tests need the user postgres with trust auth for host connections from 127.0.0.1 (pg_hba.conf)" >&2
    fi
    exit 1
  fi
  echo "Postgres: started"
elif tcp_open "$PG_HOST" "$PG_PORT"; then
  echo "ensure-services: something listens on $PG_HOST:$PG_PORT but 'psql -h $PG_HOST -U postgres -d postgres' fails:" \
    "the tests need the user postgres with trust auth for host connections from 127.0.0.1" >&2
  exit 1
else
  missing+=("Postgres on $PG_HOST:$PG_PORT (not running, and no Debian cluster to start: pg_ctlcluster or /etc/postgresql/* missing; apt-get install -y postgresql)")
fi

if redis_answers; then
  echo "Redis: answering on $REDIS_HOST:$REDIS_PORT"
elif command -v redis-server >/dev/null 2>&1; then
  echo "Redis: not answering on $REDIS_HOST:$REDIS_PORT; starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_answers
  echo "Redis: started"
else
  missing+=("Redis on $REDIS_HOST:$REDIS_PORT (not running, and redis-server is not installed: apt-get install -y redis-server)")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "ensure-services: the tests need real services that are missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  exit 1
fi
