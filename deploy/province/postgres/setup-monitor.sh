#!/bin/sh
# Makes the pg_auto_failover monitor of the province database, once, on
# the monitor machine (a small VM is enough: it stores only the pair's
# states). Run as root after `apt-get install postgresql-15
# postgresql-15-auto-failover pg-auto-failover-cli`, with
# /etc/leifeng/province-db.env filled in (see province-db.env.example).
set -eu
# shellcheck source=/dev/null
. /etc/leifeng/province-db.env
PGDATA=/var/lib/postgresql/15/monitor

# Debian's default cluster would hold the port.
if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main '; then
	pg_ctlcluster 15 main stop || true
	systemctl disable postgresql@15-main 2>/dev/null || true
fi

runuser -u postgres -- pg_autoctl create monitor \
	--pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$MONITOR_HOST" \
	--pgctl /usr/lib/postgresql/15/bin/pg_ctl \
	--auth scram-sha-256 --ssl-self-signed
install -m 0644 "$(dirname "$0")/pgautofailover@.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now pgautofailover@monitor
# The keepers log in as autoctl_node.
for _ in $(seq 30); do runuser -u postgres -- psql -p "$PGPORT" -d pg_auto_failover -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
runuser -u postgres -- psql -p "$PGPORT" -d pg_auto_failover -v ON_ERROR_STOP=1 \
	-v pw="$AUTOCTL_NODE_PASSWORD" -c "ALTER USER autoctl_node PASSWORD :'pw'"
echo "monitor ready; now run setup-node.sh on ${DB_HOSTS%% *}, then on the other database machine"
