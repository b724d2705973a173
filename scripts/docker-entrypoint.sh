#!/bin/sh
# The image's entry point: one image, one process per container, the first argument picks it.
#   broker | bridge | worker | api | simulator [args…]   node [flags] --import tsx <role>/main.ts (flags: core/node-flags.ts)
#   migrate                                              apply pending migrations, then exit
#   cli <command…>                                       the operator CLI (vehicle add …)
#   healthcheck                                          the HEALTHCHECK of the running role
# Anything else is run as given (e.g. `sh`).
set -eu
cd "$(dirname "$0")/.."   # /app in the image
ROLE_FILE="${LOGITRACK_ROLE_FILE:-/tmp/logitrack-role}"   # overridable for tests

role="${1:-api}"
case "$role" in
  broker | bridge | worker | api | simulator)
    shift
    echo "$role" >"$ROLE_FILE"
    # node's flags per role, as core/node-flags.ts has them (test/unit/node-flags.test.ts)
    flags=""
    if [ "$role" = worker ]; then flags="--max-semi-space-size=32"; fi
    # exec: node is PID 1 and gets SIGTERM itself (core/process.ts shuts down gracefully)
    # shellcheck disable=SC2086 # $flags is a list of words (empty for most roles)
    exec node $flags --import tsx "$role/main.ts" "$@"
    ;;
  migrate)
    shift
    exec node --import tsx scripts/cli.ts migrate "$@"
    ;;
  cli)
    shift
    exec node --import tsx scripts/cli.ts "$@"
    ;;
  healthcheck)
    running="$(cat "$ROLE_FILE" 2>/dev/null || echo none)"
    case "$running" in
      api)
        # the API answers /health: 200 all up, 503 a dependency down (the body says which);
        # either way this process serves, which is what a container health check can act on
        # shellcheck disable=SC2016 # JavaScript template literal, not shell
        exec node -e '
          fetch(`http://127.0.0.1:${process.env.HTTP_PORT || 8080}/health`, { signal: AbortSignal.timeout(4000) })
            .then((r) => process.exit(r.status === 200 || r.status === 503 ? 0 : 1), () => process.exit(1));'
        ;;
      broker)
        # the MQTT listener accepts connections
        # shellcheck disable=SC2016
        exec node -e '
          const s = require("node:net").connect(Number(process.env.MQTT_PORT || 1883), "127.0.0.1");
          s.setTimeout(4000, () => process.exit(1));
          s.on("connect", () => { s.destroy(); process.exit(0); }).on("error", () => process.exit(1));'
        ;;
      worker | bridge | simulator)
        # no listener: the container lives as long as its process (PID 1) does
        exit 0
        ;;
      *) exit 1 ;;
    esac
    ;;
  *)
    exec "$@"
    ;;
esac
