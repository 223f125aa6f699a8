#!/usr/bin/env bash
# make demo: the whole system on embedded defaults, on this machine.
# The cloud (embedded MQTT broker + gateway + API on SQLite), two kiosks with
# simulated card readers, and a morning of volunteers tapping in and out.
set -euo pipefail
cd "$(dirname "$0")/.."

HTTP=${LEIFENG_DEMO_HTTP:-127.0.0.1:8088}
MQTT=${LEIFENG_DEMO_MQTT:-127.0.0.1:18830}
SPEED=${LEIFENG_DEMO_SPEED:-120}
READER_A=${LEIFENG_DEMO_READER_A:-127.0.0.1:17101}
READER_B=${LEIFENG_DEMO_READER_B:-127.0.0.1:17102}
DIR=.demo

port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
# free_port HOST: a port on HOST nothing listens on, not among those taken
# already ($picked), so that the advice below names ports that really are free.
picked=" "
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    case "$picked" in *" $p "*) continue ;; esac
    if ! port_busy "$1:$p"; then picked="$picked$p "; echo "$p"; return; fi
  done
  return 1
}
busy=()
for v in HTTP MQTT READER_A READER_B; do
  a=${!v}
  if port_busy "$a"; then busy+=("$v"); fi
done
if [ ${#busy[@]} -gt 0 ]; then
  advice=""
  for v in "${busy[@]}"; do
    a=${!v}
    echo "demo: ${a} (LEIFENG_DEMO_${v}) is already in use."
    p=$(free_port "${a%:*}") || { echo "demo: no free port found on ${a%:*}; stop what uses ${a}"; exit 1; }
    advice="$advice LEIFENG_DEMO_${v}=${a%:*}:$p"
  done
  echo "Stop what uses it, or run the demo on ports that are free right now:"
  echo " ${advice# } make demo"
  exit 1
fi

rm -rf "$DIR"
mkdir -p "$DIR/logs"
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping…"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped. Logs and data are in $DIR/"
}
trap cleanup EXIT INT TERM

# The morning plays in minutes, so the kiosks get their volunteers' hours
# from the cloud every minute rather than every ten.
bin/leifeng-cloud serve --data "$DIR/cloud" --http "$HTTP" --mqtt-listen "$MQTT" --roster-refresh 1m \
  >"$DIR/logs/cloud.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://$HTTP/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://$HTTP/healthz" >/dev/null || { echo "demo: the cloud did not start; see $DIR/logs/cloud.log"; tail -5 "$DIR/logs/cloud.log"; exit 1; }

# Each kiosk joins as deployed: registered with the cloud, which writes its
# bundle (station ID, broker credentials, the cloud's config key).
# The city's places and people as an administrator imports them (deploy/demo/
# areas.csv, orgs.csv, volunteers.csv: invented names, illustrative figures).
for kind in areas orgs volunteers; do
  bin/leifeng-cloud import "$kind" --data "$DIR/cloud" "deploy/demo/$kind.csv" >>"$DIR/logs/import.log" 2>&1 ||
    { echo "demo: importing deploy/demo/$kind.csv failed; see $DIR/logs/import.log"; tail -5 "$DIR/logs/import.log"; exit 1; }
done
register() { # station county community name
  bin/leifeng-cloud station add --data "$DIR/cloud" --id "$1" --county "$2" --community "$3" --name "$4" \
    --broker "tcp://$MQTT" --out "$DIR/$1.bundle.json" >/dev/null
}
register pe-simao-001 思茅区 530802001001 茶源社区学雷锋志愿服务站
register pe-ninger-001 宁洱县 530821101001 西门社区学雷锋志愿服务站
# The first user: a city administrator, with a password printed below that
# must be changed at the first sign-in on the console, and an API token of
# theirs for the pushes and the curl calls (only its hash is stored).
ADMIN_PW="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$ADMIN_PW" | bin/leifeng-cloud admin add --data "$DIR/cloud" --user admin --role city >/dev/null
(umask 077; bin/leifeng-cloud token create --data "$DIR/cloud" --user admin --name demo >"$DIR/admin.token" 2>/dev/null)
# The station manager of 茶源社区: the hours' review queue of the station is theirs.
MANAGER_PW="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$MANAGER_PW" | bin/leifeng-cloud admin add --data "$DIR/cloud" --user simao --role station --scope pe-simao-001 >/dev/null
(umask 077; bin/leifeng-cloud token create --data "$DIR/cloud" --user simao --name demo >"$DIR/simao.token" 2>/dev/null)
# The stations' content is a config an administrator pushes (deploy/demo/),
# not something built into the kiosk.
LEIFENG_TOKEN=$(cat "$DIR/admin.token") deploy/demo/push.sh bin/leifeng-cloud "http://$HTTP" "$DIR/cloud" >"$DIR/logs/push.log" 2>&1 ||
  { echo "demo: pushing the demo config failed; see $DIR/logs/push.log"; cat "$DIR/logs/push.log"; exit 1; }

kiosk() { # station reader screen
  bin/leifeng-kiosk "$3" --bundle "$DIR/$1.bundle.json" --data "$DIR/$1" \
    --reader "sim:$2" --demo-clock-speed "$SPEED" >"$DIR/logs/$1.log" 2>&1 &
  pids+=($!)
}
# With a display, the first kiosk opens its touchscreen in a window.
screen=--headless
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then screen=--windowed; fi
kiosk pe-simao-001 "$READER_A" "$screen"
kiosk pe-ninger-001 "$READER_B" --headless
for _ in $(seq 100); do
  port_busy "$READER_A" && port_busy "$READER_B" && break
  sleep 0.1
done

cat <<TXT
================================================================
 Leifeng Station demo — 普洱市学雷锋志愿服务站
 console       http://$HTTP/console
               user: admin   password: $ADMIN_PW   (change it at the first sign-in)
               user: simao   password: $MANAGER_PW   (茶源社区's station manager: 时长审核)
 cloud API     http://$HTTP/api/v1/stations
               http://$HTTP/api/v1/records?station=pe-simao-001
               http://$HTTP/api/v1/volunteers/V1001/hours
               (with admin's API token: curl -H "Authorization: Bearer \$(cat $DIR/admin.token)" …)
 metrics       http://$HTTP/metrics
 kiosks        pe-simao-001 (reader $READER_A), pe-ninger-001 (reader $READER_B)
 tap a card    bin/leifeng-traffic --station pe-simao-001=$READER_A --tap V1001
 push config   bin/leifeng-cloud config push --api http://$HTTP --token-file $DIR/admin.token --station pe-simao-001 --file FILE
               (only the parts FILE names change; the demo's content is in deploy/demo/)
 command       bin/leifeng-cloud command --api http://$HTTP --token-file $DIR/admin.token --station pe-simao-001 --name resync
 logs          $DIR/logs/
 stop          press Ctrl-C
 A morning plays ${SPEED}× faster than real time (about $((16200 / SPEED / 60 + 1)) minutes).
================================================================
TXT

bin/leifeng-traffic --station "pe-simao-001=$READER_A" --station "pe-ninger-001=$READER_B" --speed "$SPEED" &
pids+=($!)
wait "${pids[-1]}" || true
sleep 2
TOKEN=$(cat "$DIR/admin.token")
echo
# The API answers personal data only to a user (here admin's API token).
echo "Stations in the cloud (times in China Standard Time, +08:00):"
curl -s -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/stations" | sed 's/},{/},\n{/g'
echo
echo "Hours of volunteer V1001:"
curl -s -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/volunteers/V1001/hours" | head -c 600
echo
# The hours pass (every 30 s) makes each session a service record under the
# hour rules; the demo's sessions last seconds, so they count 0 h, and taps
# outside the station's opening hours wait for the station manager.
sleep 35
echo "Service records of V1001 (the national form, the rule that counted them, the review):"
curl -s -H "Authorization: Bearer $TOKEN" "http://$HTTP/api/v1/volunteers/V1001/service-records" | head -c 900
echo
echo "The review queue of 茶源社区's station manager (console: sign in as simao, 时长审核):"
curl -s -H "Authorization: Bearer $(cat "$DIR/simao.token")" "http://$HTTP/api/v1/hours/review" | head -c 600
echo
echo "The system keeps running; tap more cards as shown above. Ctrl-C stops it."
while true; do sleep 3600; done
