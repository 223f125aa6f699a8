package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// On PostgreSQL the records table is partitioned by month (migration 11),
// so a province's years of records are many tables of one month each: the
// month being written has small indexes that stay in memory, and an old
// month can be detached, archived or dropped as a whole.
//
// The partition key is the record ID. A record's ID is a UUIDv7 made on the
// kiosk, whose first 48 bits are the kiosk's clock in milliseconds, so a
// range of IDs is a range of creation times and "the records of March" is
// the IDs from the first March millisecond's prefix to April's. Partitioned
// by ID, the primary key stays (id) alone: PostgreSQL requires a unique key
// of a partitioned table to include the partition key, and here it is the
// partition key, so the database still guarantees that an ID is stored once
// across every month, ON CONFLICT (id) DO NOTHING still skips a resent
// record, and a lookup by ID (session pairing, the clone check) reads one
// partition.
//
// The obvious alternative, partitioning by time_ns, breaks exactly-once:
// time_ns is the gateway's correction of an unsynced kiosk clock, computed
// from when the batch arrived (ingest.Correct), so a record resent in a
// later batch has another time_ns and, with the key (id, time_ns), would be
// stored twice, possibly in two months. at_ns (the kiosk's own clock) is
// stable across resends, but the key (id, at_ns) would let the database
// accept one ID twice with two clocks, and every lookup by ID would probe
// every month.
//
// Months are created ahead by leifeng_records_maintain(ahead), which Open
// calls, and serve and gateway call daily (KeepPartitions). An ID outside
// every month — a kiosk with no real-time clock that believes it is 1970,
// or a clock decades ahead — goes to records_default and is never lost;
// when its month is created later, the month's rows move out of the
// default partition into it.

// partitionedVersion is the migration that partitions records.
const partitionedVersion = 11

// partitionsAhead is how many months after the current one exist ahead.
const partitionsAhead = 3

// recordsPartitioned is migration 11: the records table becomes
// partitioned, every row kept. It copies the rows, once, inside the
// migration's transaction (a failure leaves the table as it was): 500,000
// records took 13.5 s on the project's 2-core machine, so a city's few
// million take a minute or two, with the table locked meanwhile.
var recordsPartitioned = []string{
	// The UUIDv7 text prefix of an instant: 48 bits of Unix milliseconds
	// as 12 hex digits, with the canonical dash after the eighth.
	pgOnly + `CREATE FUNCTION leifeng_record_id_bound(t timestamp) RETURNS text
		LANGUAGE sql IMMUTABLE AS $$
		SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4)
		FROM (SELECT lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') AS h) x
	$$`,
	// The UTC month a record ID was made in, NULL if it is no UUIDv7.
	pgOnly + `CREATE FUNCTION leifeng_record_month(id text) RETURNS date
		LANGUAGE sql IMMUTABLE AS $$
		SELECT CASE WHEN id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7' THEN
			date_trunc('month', to_timestamp(('x' || lpad(substr(id, 1, 8) || substr(id, 10, 4), 16, '0'))::bit(64)::bigint / 1000.0) AT TIME ZONE 'UTC')::date
		END
	$$`,
	// One month's partition, unless it exists. Rows of that month already
	// in the default partition move into it first: PostgreSQL refuses a
	// new partition whose rows the default partition holds.
	pgOnly + `CREATE FUNCTION leifeng_records_partition(m date) RETURNS boolean
		LANGUAGE plpgsql AS $$
		DECLARE
			name text := 'records_' || to_char(m, 'YYYY_MM');
			lo text := leifeng_record_id_bound(date_trunc('month', m)::timestamp);
			hi text := leifeng_record_id_bound(date_trunc('month', m)::timestamp + interval '1 month');
		BEGIN
			IF to_regclass(name) IS NOT NULL THEN
				RETURN false;
			END IF;
			IF EXISTS (SELECT 1 FROM records_default WHERE id >= lo AND id < hi) THEN
				EXECUTE format('CREATE TABLE %I (LIKE records INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
				EXECUTE format('WITH moved AS (DELETE FROM records_default WHERE id >= %L AND id < %L RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, name);
				EXECUTE format('ALTER TABLE records ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
			ELSE
				EXECUTE format('CREATE TABLE %I PARTITION OF records FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
			END IF;
			RETURN true;
		END
	$$`,
	// The current UTC month and ahead months after it; returns how many
	// partitions it created.
	pgOnly + `CREATE FUNCTION leifeng_records_maintain(ahead integer) RETURNS integer
		LANGUAGE plpgsql AS $$
		DECLARE
			cur date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
			made integer := 0;
		BEGIN
			FOR i IN 0..ahead LOOP
				IF leifeng_records_partition((cur + make_interval(months => i))::date) THEN
					made := made + 1;
				END IF;
			END LOOP;
			RETURN made;
		END
	$$`,
	// The old table steps aside, its index names freed for the new one.
	pgOnly + `ALTER TABLE records RENAME TO records_unpartitioned`,
	pgOnly + `ALTER TABLE records_unpartitioned RENAME CONSTRAINT records_pkey TO records_unpartitioned_pkey`,
	pgOnly + `DROP INDEX records_station_seq, records_ref, records_volunteer, records_card_sun`,
	pgOnly + `CREATE TABLE records (LIKE records_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
		PRIMARY KEY (id)) PARTITION BY RANGE (id)`,
	pgOnly + `CREATE TABLE records_default PARTITION OF records DEFAULT`,
	// A month for every month the existing records were made in since
	// 2020 (earlier ones are wrong clocks: they stay in the default
	// partition), and the months ahead.
	pgOnly + `SELECT leifeng_records_partition(m) FROM (
		SELECT DISTINCT leifeng_record_month(id) AS m FROM records_unpartitioned) x
		WHERE m >= DATE '2020-01-01' AND m <= (now() AT TIME ZONE 'UTC')::date + interval '3 months'
		ORDER BY m`,
	pgOnly + `SELECT leifeng_records_maintain(3)`,
	pgOnly + `INSERT INTO records SELECT * FROM records_unpartitioned`,
	pgOnly + `DROP TABLE records_unpartitioned`,
	// The indexes of migrations 1 and 4, built after the copy (faster
	// than maintaining them row by row) on every partition, and on each
	// partition created later.
	pgOnly + `CREATE INDEX records_station_seq ON records (station, seq)`,
	pgOnly + `CREATE INDEX records_ref ON records (ref) WHERE ref <> ''`,
	pgOnly + `CREATE INDEX records_volunteer ON records (volunteer, time_ns) WHERE kind = 'check_in'`,
	pgOnly + `CREATE INDEX records_card_sun ON records (card) WHERE counter > 0 OR sun <> ''`,
}

// MaintainPartitions creates the records partitions of the current month
// and the partitionsAhead months after it, where missing; on SQLite it
// does nothing. Gateways sharing a database serialise it (inTx's lock);
// it waits at most a few seconds for ingest's locks, so that it never
// holds batches up for long: on a busy minute it fails and is tried again
// the next day, months before the partition is needed.
func (s *Store) MaintainPartitions(ctx context.Context) error {
	if s.b.dialect() != "postgres" {
		return nil
	}
	err := s.b.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			return err
		}
		_, err := q.exec(ctx, `SELECT leifeng_records_maintain($1)`, partitionsAhead)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: records partitions: %w", err)
	}
	return nil
}

// KeepPartitions runs MaintainPartitions once a day until ctx ends (Open
// has run it already). A failure is logged and tried again an hour later.
func (s *Store) KeepPartitions(ctx context.Context, log *slog.Logger) {
	if s.b.dialect() != "postgres" {
		return
	}
	t := time.NewTimer(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := 24 * time.Hour
		if err := s.MaintainPartitions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("records partitions not maintained, retrying in an hour", "err", err)
			wait = time.Hour
		}
		t.Reset(wait)
	}
}
