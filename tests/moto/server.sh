#!/usr/bin/env bash
# Starts, stops and reports the moto server the integration tests talk to.
#
#   tests/moto/server.sh start   install moto (pinned, venv under .moto/) if missing, start it on
#                                127.0.0.1:$MOTO_PORT if not already answering, wait until it
#                                answers, print its URL
#   tests/moto/server.sh stop    stop the server this script started
#   tests/moto/server.sh url     print the URL
#
# Needs only python3 (3.11 or later, with venv) and curl. MOTO_PORT defaults to 5010.
# Concurrent starts are serialised with flock, so two test runs never install over each other.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/.moto"
venv="$dir/venv"
port="${MOTO_PORT:-5010}"
url="http://127.0.0.1:$port"
requirements="$root/tests/moto/requirements.txt"

answers() {
    curl -fsS -o /dev/null --max-time 2 "$url/moto-api/" 2>/dev/null
}

install() {
    # Reinstall when the pinned requirements change.
    if [ -x "$venv/bin/moto_server" ] && cmp -s "$requirements" "$dir/installed-requirements.txt"; then
        return
    fi
    echo "installing moto server into $venv" >&2
    rm -rf "$venv"
    mkdir -p "$dir"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 splits venv into its own package.
        if command -v apt-get >/dev/null; then
            apt-get update -qq >&2
            apt-get install -y -qq python3-venv >&2
            python3 -m venv "$venv"
        else
            echo "python3 -m venv failed and apt-get is not available" >&2
            exit 1
        fi
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$dir/installed-requirements.txt"
}

configure() {
    # Lambda must not try to start Docker (there is none in CI).
    curl -fsS -o /dev/null -X POST "$url/moto-api/config" \
        -H 'Content-Type: application/json' -d '{"lambda":{"use_docker":false}}'
}

start() {
    if answers; then
        configure
        echo "$url"
        return
    fi
    install
    mkdir -p "$dir"
    # 9>&- : the server must not inherit (and so hold forever) the lock taken below.
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/server-$port.log" 2>&1 9>&- &
    echo $! >"$dir/server-$port.pid"
    for _ in $(seq 1 100); do
        if answers; then
            configure
            echo "$url"
            return
        fi
        sleep 0.2
    done
    echo "moto server did not answer on $url within 20 s; log: $dir/server-$port.log" >&2
    tail -20 "$dir/server-$port.log" >&2 || true
    exit 1
}

stop() {
    local pidfile="$dir/server-$port.pid"
    if [ -f "$pidfile" ]; then
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    fi
}

case "${1:-}" in
start)
    mkdir -p "$dir"
    exec 9>"$dir/lock"
    flock 9
    start
    ;;
stop) stop ;;
url) echo "$url" ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
