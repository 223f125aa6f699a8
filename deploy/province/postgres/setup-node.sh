#!/bin/sh
# Makes one node of the province database's pair, once, on a database
# machine: the first one run becomes the primary (and gets the leifeng
# database and account), the second its synchronous standby, copied from
# it. Run as root after `apt-get install postgresql-15
# postgresql-15-auto-failover pg-auto-failover-cli`, with
# /etc/leifeng/province-db.env filled in, after setup-monitor.sh.
#
#   sh setup-node.sh db1.province.example
set -eu
# shellcheck source=/dev/null
. /etc/leifeng/province-db.env
NODE_HOST=${1:?usage: setup-node.sh THIS-MACHINE-HOSTNAME}
PGDATA=/var/lib/postgresql/15/node
MONITOR="postgres://autoctl_node@$MONITOR_HOST:$PGPORT/pg_auto_failover?sslmode=require"

if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main '; then
	pg_ctlcluster 15 main stop || true
	systemctl disable postgresql@15-main 2>/dev/null || true
fi

# Passwords the keeper needs go in its own ~/.pgpass, never on a command line.
PGPASS=/var/lib/postgresql/.pgpass
umask 077
{
	echo "$MONITOR_HOST:$PGPORT:pg_auto_failover:autoctl_node:$AUTOCTL_NODE_PASSWORD"
	for h in $DB_HOSTS; do
		echo "$h:$PGPORT:*:pgautofailover_replicator:$REPLICATION_PASSWORD"
	done
} > "$PGPASS"
chown postgres:postgres "$PGPASS"

runuser -u postgres -- pg_autoctl create postgres \
	--pgdata "$PGDATA" --pgport "$PGPORT" --hostname "$NODE_HOST" \
	--pgctl /usr/lib/postgresql/15/bin/pg_ctl \
	--monitor "$MONITOR" --dbname leifeng \
	--auth scram-sha-256 --ssl-self-signed
runuser -u postgres -- pg_autoctl config set --pgdata "$PGDATA" replication.password "$REPLICATION_PASSWORD"
install -m 0644 "$(dirname "$0")/pgautofailover@.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now pgautofailover@node

# On the primary only: the replication and application accounts, and
# the gateways' access.
for _ in $(seq 60); do
	runuser -u postgres -- psql -p "$PGPORT" -d leifeng -Atc 'SELECT 1' >/dev/null 2>&1 && break
	sleep 1
done
if runuser -u postgres -- psql -p "$PGPORT" -d leifeng -Atc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null | grep -q t; then
	runuser -u postgres -- psql -p "$PGPORT" -d leifeng -v ON_ERROR_STOP=1 \
		-v rpw="$REPLICATION_PASSWORD" -v apw="$LEIFENG_DB_PASSWORD" <<'SQL'
ALTER USER pgautofailover_replicator PASSWORD :'rpw';
SELECT 'CREATE ROLE leifeng LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leifeng') \gexec
ALTER ROLE leifeng PASSWORD :'apw';
ALTER DATABASE leifeng OWNER TO leifeng;
ALTER SCHEMA public OWNER TO leifeng;
SQL
	# The gateways and serve log in as leifeng from their network, over
	# TLS (pg_auto_failover's own rules cover only the three machines).
	# The standby gets the line with its copy of the primary's data
	# directory; running the script again adds nothing twice.
	HBA="hostssl leifeng leifeng $GATEWAY_NETWORK scram-sha-256"
	grep -qxF "$HBA" "$PGDATA/pg_hba.conf" || echo "$HBA" >> "$PGDATA/pg_hba.conf"
	runuser -u postgres -- psql -p "$PGPORT" -d leifeng -qc 'SELECT pg_reload_conf()' >/dev/null
	echo "primary ready on $NODE_HOST; now run setup-node.sh on the other database machine"
else
	echo "standby on $NODE_HOST: copying from the primary; it is ready when pg_autoctl show state says secondary"
fi
runuser -u postgres -- pg_autoctl show state --pgdata "$PGDATA"
