# shellcheck shell=bash disable=SC2034
# scripts/lib/stack.sh - the local issuer and the products backend for the
# demo and the end-to-end tests, all on 127.0.0.1. Source it (bash), then:
#   free_port                         print a port free on 127.0.0.1
#   stack_start_node OUT ERR ARGS...  run node ARGS in the background,
#                                     stdout to OUT; sets STACK_PID
#   stack_wait_ready OUT PID          wait (30 s at most) for the "ready URL"
#                                     line; prints URL
#   stack_stop_pid PID                TERM, wait 5 s at most, then KILL
#   stack_get_token ISSUER CLIENT SCOPE [RESOURCE]
#                                     a token from the issuer's token endpoint
#   stack_wait_port PORT              wait (15 s at most) for a listener

STACK_TOP=${STACK_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
STACK_ISSUER_JS="$STACK_TOP/t/issuer/oidc/issuer.js"
STACK_BACKEND_JS="$STACK_TOP/t/issuer/backend.js"
STACK_GET_TOKEN="$STACK_TOP/t/issuer/get-token"
STACK_RESOURCE=${STACK_RESOURCE:-https://api.example.com/products}
STACK_PID=""

free_port() {
    node -e '
        const s = require("net").createServer();
        s.listen(0, "127.0.0.1", () => {
            process.stdout.write(String(s.address().port));
            s.close();
        });'
}

stack_start_node() {
    local out=$1 err=$2
    shift 2
    : > "$out"
    node "$@" > "$out" 2> "$err" &
    STACK_PID=$!
}

# The URL of the first "ready URL ..." line, once the process printed it.
stack_wait_ready() {
    local out=$1 pid=$2 url deadline=$(($(date +%s) + 30))
    # 30 s by the clock: a node issuer's first start on a loaded machine
    # (cold module cache, stolen CPU) has been seen to take over 15.
    while [ "$(date +%s)" -lt "$deadline" ]; do
        url=$(sed -n 's/^ready \([^ ]*\).*/\1/p' "$out" 2>/dev/null | head -1)
        if [ -n "$url" ]; then
            echo "$url"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

stack_stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}

# The demo issuer's clients share one secret pattern: ID-secret.
stack_get_token() {
    local issuer=$1 client=$2 scope=$3 resource=${4:-$STACK_RESOURCE}
    "$STACK_GET_TOKEN" --issuer "$issuer" --client "$client" \
        --secret "$client-secret" --resource "$resource" --scope "$scope"
}

# Wait (15 s at most) until something accepts connections on PORT.
stack_wait_port() {
    local port=$1
    for _ in $(seq 1 150); do
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
