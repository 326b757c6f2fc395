#!/bin/sh
# Entrypoint of the Mosquitto container: runs the broker and reloads it
# (SIGHUP) whenever the broker-auth service rewrites the passwd, passwd-services
# or acl file.
# Mosquitto 2 re-reads both on SIGHUP without dropping connections.
set -eu
conf=/mosquitto/config/mosquitto.conf
auth=/mosquitto/auth
until [ -s "$auth/passwd" ] && [ -s "$auth/passwd-services" ] && [ -s "$auth/acl" ]; do
  echo "waiting for $auth/passwd, $auth/passwd-services and $auth/acl from broker-auth"
  sleep 2
done
mosquitto -c "$conf" &
broker=$!
trap 'kill -TERM "$broker"; wait "$broker"; exit 0' TERM INT
stamp=/tmp/auth-loaded
touch "$stamp"
while kill -0 "$broker" 2>/dev/null; do
  sleep 3 &
  wait $! || true
  if [ "$auth/passwd" -nt "$stamp" ] || [ "$auth/passwd-services" -nt "$stamp" ] || [ "$auth/acl" -nt "$stamp" ]; then
    touch "$stamp"
    kill -HUP "$broker"
    echo "reloaded broker credentials"
  fi
done
wait "$broker"
