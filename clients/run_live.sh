#!/bin/sh
# `make run`: start perfwired, show its live frames until Ctrl-C (or q in
# `perfwire top`), stop it. `top` when stdout is a terminal, else `dump`.
# Environment: BUILD_DIR, INTERVAL, SOCKET, ARGS (extra perfwired flags,
# split on spaces; set by the Makefile: make run ARGS="--contention").
set -u
bin="${BUILD_DIR:-build}/bin"
socket="${SOCKET:-/run/perfwire/perfwire.sock}"
# shellcheck disable=SC2086 # ARGS is a list of flags, split on purpose
"$bin/perfwired" --socket "$socket" --interval "${INTERVAL:-1s}" ${ARGS:-} &
agent=$!
stop() { kill -TERM "$agent" 2>/dev/null; wait "$agent" 2>/dev/null; }
trap 'stop; exit 0' INT TERM
# Wait for the socket (the agent exits with a clear message if it cannot start).
i=0
while [ ! -S "$socket" ]; do
  if ! kill -0 "$agent" 2>/dev/null; then wait "$agent"; exit $?; fi
  i=$((i + 1)); [ "$i" -gt 100 ] && { echo "perfwired did not open $socket" >&2; stop; exit 1; }
  sleep 0.1
done
if [ -t 1 ]; then
  "$bin/perfwire" top --socket "$socket"
else
  "$bin/perfwire" dump --socket "$socket"
fi
status=$?
stop
exit $status
