#!/usr/bin/env bash
# Push the demo content to a running cloud, as an administrator would:
#   LEIFENG_TOKEN=TOKEN deploy/demo/push.sh LEIFENG_CLOUD_BINARY API_URL CLOUD_DATA_DIR
# TOKEN is an API token of a user who may push (leifeng-cloud token create).
# The fleet defaults first, then each station's own document; the stations
# must be registered (leifeng-cloud station add).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cloud=$1 api=$2 data=$3
"$cloud" config push --api "$api" --data "$data" --all --file "$here/fleet.json"
for st in pe-simao-001 pe-ninger-001; do
  "$cloud" config push --api "$api" --data "$data" --station "$st" --file "$here/$st.json"
done
