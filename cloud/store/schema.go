package store

import "strings"

// The schema is one list of migrations for both databases. Each migration
// runs once, in its own transaction, and is recorded in schema_migrations;
// a migration, once released, is never edited — a change is a new one.
//
// Choices that keep one SQL text for both dialects:
//   - Times are BIGINT nanoseconds since the Unix epoch (UTC). They round
//     trip exactly (PostgreSQL's timestamptz keeps microseconds only, the
//     kiosk's clocks are nanoseconds), and durations are plain integer
//     subtraction in either database, so session hours can be computed in
//     SQL without dialect-specific date arithmetic. Reports convert at the
//     edge (to_timestamp(ns / 1e9), datetime(ns / 1e9, 'unixepoch')).
//   - Text columns are NOT NULL, the empty string meaning "absent", which
//     keeps the bulk insert free of NULL handling; the ref index is partial
//     (only non-empty refs) so check-ins, which have no ref, cost it nothing.
//
// The one dialect difference is the collation of record IDs: PostgreSQL
// gets COLLATE "C" so that comparing and sorting IDs is a byte comparison
// (which for UUIDv7 is creation order) whatever locale the database was
// created with; SQLite's default BINARY collation already is that.
type migration struct {
	version int
	name    string
	stmts   []string
}

var migrations = []migration{
	{1, "records, station states, sessions view", []string{
		`CREATE TABLE records (
			id           TEXT {{C}} PRIMARY KEY,
			station      TEXT NOT NULL,
			kind         TEXT NOT NULL,
			volunteer    TEXT NOT NULL,
			card         TEXT NOT NULL,
			service      TEXT NOT NULL,
			ref          TEXT {{C}} NOT NULL,
			at_ns        BIGINT NOT NULL,
			mono         BIGINT NOT NULL CHECK (mono >= 0),
			boot         TEXT NOT NULL,
			clock_synced BOOLEAN NOT NULL,
			seq          BIGINT NOT NULL CHECK (seq >= 0),
			review       BOOLEAN NOT NULL,
			phone        TEXT NOT NULL,
			note         TEXT NOT NULL,
			counter      BIGINT NOT NULL,
			sun          TEXT NOT NULL,
			time_ns      BIGINT NOT NULL,
			clock_flag   TEXT NOT NULL,
			received_ns  BIGINT NOT NULL
		)`,
		// Records(station, afterSeq) and per-station counts.
		`CREATE INDEX records_station_seq ON records (station, seq)`,
		// Session pairing looks up the record that closes a check-in.
		`CREATE INDEX records_ref ON records (ref) WHERE ref <> ''`,
		// VolunteerHours starts from a volunteer's check-ins.
		`CREATE INDEX records_volunteer ON records (volunteer, time_ns) WHERE kind = 'check_in'`,
		`CREATE TABLE station_states (
			station        TEXT PRIMARY KEY,
			online         BOOLEAN NOT NULL,
			config_version BIGINT NOT NULL,
			config_error   TEXT NOT NULL,
			firmware       TEXT NOT NULL,
			outbox         BIGINT NOT NULL,
			reader         TEXT NOT NULL,
			clock_at_ns    BIGINT NOT NULL,
			clock_mono     BIGINT NOT NULL,
			clock_boot     TEXT NOT NULL,
			clock_synced   BOOLEAN NOT NULL,
			seen_ns        BIGINT NOT NULL
		)`,
		// Sessions are paired when read, not when written, so ingest stays
		// one bulk insert and the pairing does not depend on the order in
		// which a check-in and its check-out arrive. If (against the
		// kiosk's rules) two records close the same check-in, the first
		// by seq counts. raw_ns is the duration before clamping: from the
		// monotonic clock within one boot, else from the corrected times.
		`CREATE VIEW sessions AS
		SELECT s.*, CASE WHEN s.raw_ns < 0 THEN 0 ELSE s.raw_ns END AS duration_ns
		FROM (
			SELECT c.id AS check_in, o.id AS check_out,
				c.station AS station, c.volunteer AS volunteer, c.service AS service,
				c.time_ns AS start_ns, o.time_ns AS end_ns,
				c.clock_flag AS in_clock, o.clock_flag AS out_clock,
				o.kind AS out_kind, o.review AS review,
				o.boot = c.boot AS same_boot,
				CASE WHEN o.boot = c.boot THEN o.mono - c.mono ELSE o.time_ns - c.time_ns END AS raw_ns
			FROM records c
			LEFT JOIN records o ON o.id = (
				SELECT x.id FROM records x
				WHERE x.ref = c.id AND x.ref <> '' AND x.kind IN ('check_out', 'auto_check_out')
				ORDER BY x.seq, x.id LIMIT 1)
			WHERE c.kind = 'check_in'
		) s`,
	}},
	{2, "registered stations, pushed configs, presence history, richer states", []string{
		`ALTER TABLE station_states ADD COLUMN fleet_config_version BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE station_states ADD COLUMN fleet_config_error TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE station_states ADD COLUMN update_offered TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE station_states ADD COLUMN last_command TEXT NOT NULL DEFAULT ''`,
		// outbox_rising counts consecutive reports whose outbox grew.
		`ALTER TABLE station_states ADD COLUMN outbox_rising BIGINT NOT NULL DEFAULT 0`,
		// since_ns is when online last changed.
		`ALTER TABLE station_states ADD COLUMN since_ns BIGINT NOT NULL DEFAULT 0`,
		// secret_hash is the broker password in mosquitto_passwd's PBKDF2
		// form, so one column serves the embedded broker and Mosquitto's
		// password file; the password itself is only in the bundle.
		`CREATE TABLE stations (
			id          TEXT PRIMARY KEY,
			name        TEXT NOT NULL,
			county      TEXT NOT NULL,
			secret_hash TEXT NOT NULL,
			created_ns  BIGINT NOT NULL
		)`,
		// One row per config topic: scope "fleet" or "station:ID"; doc is
		// the document, sealed the envelope published retained.
		`CREATE TABLE station_configs (
			scope     TEXT PRIMARY KEY,
			version   BIGINT NOT NULL,
			doc       TEXT NOT NULL,
			sealed    TEXT NOT NULL,
			pushed_ns BIGINT NOT NULL
		)`,
		`CREATE TABLE presence (
			station TEXT NOT NULL,
			online  BOOLEAN NOT NULL,
			at_ns   BIGINT NOT NULL
		)`,
		`CREATE INDEX presence_station ON presence (station, at_ns)`,
	}},
	{3, "volunteer roster per station, commands and their outcomes", []string{
		// The cloud's roster: names in full (they leave the cloud only
		// masked), and the stations each volunteer is listed for. A
		// volunteer also belongs to every station where they checked in.
		`CREATE TABLE volunteers (
			id         TEXT PRIMARY KEY,
			name       TEXT NOT NULL,
			updated_ns BIGINT NOT NULL
		)`,
		`CREATE TABLE volunteer_stations (
			station   TEXT NOT NULL,
			volunteer TEXT NOT NULL,
			PRIMARY KEY (station, volunteer)
		)`,
		// Every command sent, and what the kiosk said of it (its state's
		// last_command, matched by nonce).
		`CREATE TABLE commands (
			nonce      TEXT PRIMARY KEY,
			station    TEXT NOT NULL,
			name       TEXT NOT NULL,
			sent_ns    BIGINT NOT NULL,
			expires_ns BIGINT NOT NULL,
			outcome    TEXT NOT NULL,
			outcome_ns BIGINT NOT NULL
		)`,
		`CREATE INDEX commands_station ON commands (station, sent_ns)`,
	}},
	{4, "rejected records, session reviews, clone alerts", []string{
		// A record that passed validation but the database refused, kept
		// for a person with the reason; record is its JSON (which escapes
		// what a text column cannot hold, such as NUL).
		`CREATE TABLE rejected_records (
			id          TEXT {{C}} PRIMARY KEY,
			station     TEXT NOT NULL,
			reason      TEXT NOT NULL,
			record      TEXT NOT NULL,
			received_ns BIGINT NOT NULL,
			rejected_ns BIGINT NOT NULL
		)`,
		// Flags on a session are computed when it is read, from its records
		// and the pushed configs, like the pairing; only the decision a
		// person took is stored.
		`CREATE TABLE session_reviews (
			check_in TEXT {{C}} PRIMARY KEY,
			approved BOOLEAN NOT NULL,
			reviewer TEXT NOT NULL,
			note     TEXT NOT NULL,
			at_ns    BIGINT NOT NULL
		)`,
		// One row per pair of taps of one card whose NTAG 424 DNA counters
		// disagree (record_a < record_b, so a pair is one row whichever
		// arrived first).
		`CREATE TABLE clone_alerts (
			record_a    TEXT {{C}} NOT NULL,
			record_b    TEXT {{C}} NOT NULL,
			card        TEXT NOT NULL,
			volunteer   TEXT NOT NULL,
			reason      TEXT NOT NULL,
			station_a   TEXT NOT NULL,
			station_b   TEXT NOT NULL,
			counter_a   BIGINT NOT NULL,
			counter_b   BIGINT NOT NULL,
			detected_ns BIGINT NOT NULL,
			PRIMARY KEY (record_a, record_b)
		)`,
		`CREATE INDEX clone_alerts_card ON clone_alerts (card)`,
		// The clone check looks up a card's earlier NTAG 424 DNA taps.
		`CREATE INDEX records_card_sun ON records (card) WHERE counter > 0 OR sun <> ''`,
	}},
	{5, "firmware rollouts, their holds and per-station progress", []string{
		// phases is JSON ([]RolloutPhase): read whole, never queried.
		`CREATE TABLE rollouts (
			id             BIGINT PRIMARY KEY,
			target         TEXT NOT NULL,
			version        TEXT NOT NULL,
			url            TEXT NOT NULL,
			phases         TEXT NOT NULL,
			phase          INTEGER NOT NULL,
			state          TEXT NOT NULL,
			reason         TEXT NOT NULL,
			max_failed     INTEGER NOT NULL,
			max_failed_pct INTEGER NOT NULL,
			created_ns     BIGINT NOT NULL,
			updated_ns     BIGINT NOT NULL
		)`,
		`CREATE TABLE rollout_holds (
			rollout BIGINT NOT NULL,
			kind    TEXT NOT NULL,
			value   TEXT NOT NULL,
			PRIMARY KEY (rollout, kind, value)
		)`,
		`CREATE TABLE rollout_stations (
			rollout    BIGINT NOT NULL,
			station    TEXT NOT NULL,
			phase      INTEGER NOT NULL,
			step       TEXT NOT NULL,
			done       BIGINT NOT NULL,
			total      BIGINT NOT NULL,
			reason     TEXT NOT NULL,
			nonce      TEXT NOT NULL,
			offered_ns BIGINT NOT NULL,
			updated_ns BIGINT NOT NULL,
			PRIMARY KEY (rollout, station)
		)`,
		// SaveState looks up a reporting station's rollouts.
		`CREATE INDEX rollout_stations_station ON rollout_stations (station)`,
	}},
	{6, "drop the sessions view", []string{
		// The view summed every session, flagged or not, so anything that
		// read it would count the hours of a forged session; nothing does
		// (readSessions pairs the records itself and count applies the
		// flags), so it goes before something starts to.
		`DROP VIEW IF EXISTS sessions`,
	}},
	{7, "areas, organisations, registered volunteers' personal fields, settings", []string{
		// The city's tree: parent is the code one level up ('' for the city).
		`CREATE TABLE areas (
			code       TEXT PRIMARY KEY,
			name       TEXT NOT NULL,
			parent     TEXT NOT NULL,
			level      TEXT NOT NULL CHECK (level IN ('city', 'county', 'township', 'community')),
			population BIGINT NOT NULL CHECK (population >= 0),
			updated_ns BIGINT NOT NULL
		)`,
		`CREATE INDEX areas_parent ON areas (parent)`,
		`CREATE TABLE organisations (
			id         TEXT PRIMARY KEY,
			name       TEXT NOT NULL,
			type       TEXT NOT NULL,
			county     TEXT NOT NULL,
			community  TEXT NOT NULL,
			parent     TEXT NOT NULL,
			updated_ns BIGINT NOT NULL
		)`,
		// A registered volunteer is the roster's row with the personal
		// fields filled in (registered_ns > 0), so the name a kiosk shows,
		// masked, is the registered one. The ID number is only there
		// sealed (id_cipher, AES-GCM with a key outside the database),
		// hashed with a key (id_hash, one person once) and masked.
		// Dates are YYYY-MM-DD text, lists JSON arrays.
		`ALTER TABLE volunteers ADD COLUMN gender TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN birth_date TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN id_cipher TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN id_hash TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN id_masked TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN community TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN phone TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN skills TEXT NOT NULL DEFAULT '[]'`,
		`ALTER TABLE volunteers ADD COLUMN service_types TEXT NOT NULL DEFAULT '[]'`,
		`ALTER TABLE volunteers ADD COLUMN grp TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN national_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN guardian_consent BOOLEAN NOT NULL DEFAULT FALSE`,
		`ALTER TABLE volunteers ADD COLUMN registered_on TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE volunteers ADD COLUMN registered_ns BIGINT NOT NULL DEFAULT 0`,
		`CREATE UNIQUE INDEX volunteers_id_hash ON volunteers (id_hash) WHERE id_hash <> ''`,
		`CREATE INDEX volunteers_community ON volunteers (community) WHERE community <> ''`,
		`CREATE TABLE volunteer_orgs (
			volunteer TEXT NOT NULL,
			org       TEXT NOT NULL,
			PRIMARY KEY (volunteer, org)
		)`,
		`CREATE INDEX volunteer_orgs_org ON volunteer_orgs (org)`,
		// Settings an administrator changes (the leading office's name).
		`CREATE TABLE settings (
			key        TEXT PRIMARY KEY,
			value      TEXT NOT NULL,
			updated_ns BIGINT NOT NULL
		)`,
	}},
	{8, "users, API tokens, console sessions", []string{
		// A user signs in with a password kept only as an argon2id hash
		// (PHC string); disabled_ns > 0 ends every session and token.
		`CREATE TABLE users (
			id                   BIGINT PRIMARY KEY,
			name                 TEXT NOT NULL UNIQUE,
			role                 TEXT NOT NULL CHECK (role IN ('city', 'county', 'station', 'org', 'auditor')),
			scope                TEXT NOT NULL,
			password_hash        TEXT NOT NULL,
			must_change_password BOOLEAN NOT NULL,
			created_ns           BIGINT NOT NULL,
			password_ns          BIGINT NOT NULL,
			disabled_ns          BIGINT NOT NULL DEFAULT 0
		)`,
		// An API token acts for its user; only its SHA-256 is kept.
		`CREATE TABLE api_tokens (
			id           BIGINT PRIMARY KEY,
			hash         TEXT NOT NULL UNIQUE,
			user_id      BIGINT NOT NULL REFERENCES users (id),
			name         TEXT NOT NULL,
			created_ns   BIGINT NOT NULL,
			last_used_ns BIGINT NOT NULL DEFAULT 0,
			revoked_ns   BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX api_tokens_user ON api_tokens (user_id)`,
		// The console's sessions (alexedwards/scs's store): keyed by the
		// SHA-256 of the cookie's token, data base64 text.
		`CREATE TABLE web_sessions (
			token_hash TEXT PRIMARY KEY,
			data       TEXT NOT NULL,
			expiry_ns  BIGINT NOT NULL
		)`,
		`CREATE INDEX web_sessions_expiry ON web_sessions (expiry_ns)`,
	}},
	{9, "volunteer cards issued by the cloud, their revocations and replacements", []string{
		// One row per credential the cloud signed. uid is the card UID in
		// upper-case hex; expires the last valid day (YYYY-MM-DD, China
		// Standard Time), so the revocation list can leave out cards that
		// have expired anyway. A card leaves 'active' once, for good.
		`CREATE TABLE cards (
			serial      TEXT {{C}} PRIMARY KEY,
			volunteer   TEXT NOT NULL,
			uid         TEXT NOT NULL,
			media       TEXT NOT NULL,
			issued_ns   BIGINT NOT NULL,
			issued_by   TEXT NOT NULL,
			expires     TEXT NOT NULL,
			state       TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'lost', 'replaced')),
			revoked_ns  BIGINT NOT NULL DEFAULT 0,
			revoked_by  TEXT NOT NULL DEFAULT '',
			reason      TEXT NOT NULL DEFAULT '',
			replaced_by TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX cards_volunteer ON cards (volunteer, issued_ns)`,
		// The revocation list every config push carries.
		`CREATE INDEX cards_withdrawn ON cards (expires) WHERE state <> 'active'`,
		// A card (UID) holds one valid credential at a time.
		`CREATE UNIQUE INDEX cards_active_uid ON cards (uid) WHERE state = 'active'`,
	}},
	{10, "volunteer search, edit history, deregistration", []string{
		// A deregistered (注销) volunteer keeps the row its service records
		// point to, with the name masked and the rest of the personal
		// fields emptied; deregistered_ns says when, and the reason why.
		`ALTER TABLE volunteers ADD COLUMN deregistered_ns BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE volunteers ADD COLUMN deregister_reason TEXT NOT NULL DEFAULT ''`,
		// Search by name is by prefix (the surname first, or the whole
		// name), in byte order so one index serves it on both databases
		// whatever PostgreSQL's locale. A trigram index (pg_trgm) would add
		// substring search, but Chinese names are two to four characters
		// and a trigram index cannot answer a query under three, the
		// commonest; nor does SQLite have one.
		`CREATE INDEX volunteers_name ON volunteers (name {{C}}, id) WHERE registered_ns > 0`,
		// Phone numbers are stored in clear like names (see volunteers.go
		// for why) and searched by exact, normalised number.
		`CREATE INDEX volunteers_phone ON volunteers (phone) WHERE phone <> ''`,
		// Edits of a volunteer, one row per field changed. shown_before/shown_after
		// are what a person may be shown (personal fields masked);
		// sealed_before/sealed_after the personal fields' values in full,
		// AES-GCM sealed with the ID-number key (people.Vault.SealText).
		// Registration and deregistration are rows too (field '').
		`CREATE TABLE volunteer_history (
			volunteer     TEXT NOT NULL,
			seq           BIGINT NOT NULL,
			at_ns         BIGINT NOT NULL,
			actor         TEXT NOT NULL,
			action        TEXT NOT NULL,
			field         TEXT NOT NULL,
			shown_before  TEXT NOT NULL,
			shown_after   TEXT NOT NULL,
			sealed_before TEXT NOT NULL,
			sealed_after  TEXT NOT NULL,
			PRIMARY KEY (volunteer, seq)
		)`,
		// The cards helper's migration 9 creates the cards table; this
		// creates the two columns the search and the export read when it
		// has not run, and does nothing when it has.
		`CREATE TABLE IF NOT EXISTS cards (
			serial    TEXT PRIMARY KEY,
			volunteer TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS cards_volunteer ON cards (volunteer)`,
	}},
	{11, "records partitioned by month on PostgreSQL", recordsPartitioned},
	{12, "audit log, station communities", []string{
		// Every station belongs to a community (an area of level
		// community); '' until it is given one. Scopes follow it.
		`ALTER TABLE stations ADD COLUMN community TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX stations_community ON stations (community) WHERE community <> ''`,
		// Who changed what (and read or exported personal data), when,
		// with the state before and after as JSON ('' when not kept).
		// Rows are only ever added: no route changes one, and the
		// triggers below refuse an UPDATE or DELETE from anywhere else.
		`CREATE TABLE audit_log (
			id         {{ID}},
			at_ns      BIGINT NOT NULL,
			user_id    BIGINT NOT NULL,
			user_name  TEXT NOT NULL,
			role       TEXT NOT NULL,
			via        TEXT NOT NULL,
			action     TEXT NOT NULL,
			route      TEXT NOT NULL,
			target     TEXT NOT NULL,
			status     INTEGER NOT NULL,
			before_doc TEXT NOT NULL,
			after_doc  TEXT NOT NULL,
			remote     TEXT NOT NULL
		)`,
		`CREATE INDEX audit_log_at ON audit_log (at_ns)`,
		`CREATE INDEX audit_log_user ON audit_log (user_name, id)`,
		`CREATE INDEX audit_log_action ON audit_log (action, id)`,
		`{{SQLITE}} CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
		`{{SQLITE}} CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
		`{{PG}} CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`,
		`{{PG}} CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
		FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,
		`{{PG}} CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
		FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`,
	}},
	{13, "residents' orders, their history and assigned volunteers", []string{
		// What an order_start or order_rating record says of an order.
		`ALTER TABLE records ADD COLUMN order_ref TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE records ADD COLUMN rating INTEGER NOT NULL DEFAULT 0`,
		// The kiosk records about orders the intake has applied, with what
		// became of each ('' applied, else why not), so each is applied
		// once.
		`CREATE TABLE order_intake (
			record_id TEXT {{C}} PRIMARY KEY,
			order_id  BIGINT NOT NULL,
			outcome   TEXT NOT NULL,
			at_ns     BIGINT NOT NULL
		)`,
		// A volunteer's check-in that serves an order; its check-out
		// completes the order.
		`CREATE TABLE order_sessions (
			check_in TEXT {{C}} PRIMARY KEY,
			order_id BIGINT NOT NULL
		)`,
		// A need from a kiosk's service_request record (record_id), entered
		// by a station manager (代办) or in the console. volunteers is JSON
		// for reading whole; order_volunteers indexes the same for a
		// volunteer's tasks. phone is personal data: the API masks it.
		`CREATE TABLE orders (
			id           BIGINT PRIMARY KEY,
			ref          TEXT NOT NULL,
			station      TEXT NOT NULL,
			community    TEXT NOT NULL,
			category     TEXT NOT NULL,
			phone        TEXT NOT NULL,
			note         TEXT NOT NULL,
			preferred    TEXT NOT NULL,
			source       TEXT NOT NULL,
			record_id    TEXT {{C}} NOT NULL,
			state        TEXT NOT NULL,
			org          TEXT NOT NULL,
			volunteers   TEXT NOT NULL,
			reason       TEXT NOT NULL,
			duplicate_of BIGINT NOT NULL,
			rating       INTEGER NOT NULL,
			comment      TEXT NOT NULL,
			level        INTEGER NOT NULL,
			created_ns   BIGINT NOT NULL,
			since_ns     BIGINT NOT NULL,
			updated_ns   BIGINT NOT NULL
		)`,
		`CREATE UNIQUE INDEX orders_record ON orders (record_id) WHERE record_id <> ''`,
		`CREATE INDEX orders_community_state ON orders (community, state)`,
		`CREATE INDEX orders_ref ON orders (ref)`,
		`CREATE INDEX orders_open ON orders (state, since_ns)`,
		`CREATE TABLE order_events (
			order_id   BIGINT NOT NULL,
			seq        INTEGER NOT NULL,
			at_ns      BIGINT NOT NULL,
			who        TEXT NOT NULL,
			action     TEXT NOT NULL,
			from_state TEXT NOT NULL,
			to_state   TEXT NOT NULL,
			reason     TEXT NOT NULL,
			detail     TEXT NOT NULL,
			PRIMARY KEY (order_id, seq)
		)`,
		`CREATE TABLE order_volunteers (
			order_id  BIGINT NOT NULL,
			volunteer TEXT NOT NULL,
			PRIMARY KEY (order_id, volunteer)
		)`,
		`CREATE INDEX order_volunteers_volunteer ON order_volunteers (volunteer)`,
		// The orders pass looks for these kinds every 30 s: without an
		// index it reads the whole records table each time. Each index's
		// condition is the query's own term, so SQLite uses it too.
		`CREATE INDEX order_sessions_order ON order_sessions (order_id)`,
		`CREATE INDEX orders_updated ON orders (updated_ns)`,
		`CREATE INDEX records_service_requests ON records (received_ns) WHERE kind = 'service_request'`,
		`CREATE INDEX records_order_actions ON records (time_ns) WHERE kind IN ('order_start', 'order_rating')`,
	}},
	{14, "activity announcements", []string{
		// 活动预告: stations and areas are JSON lists of whom it is for
		// (both empty: the whole city); the fleet reads the few not yet
		// ended (end_ns) into each station's announcements.
		`CREATE TABLE activities (
			id         BIGINT PRIMARY KEY,
			title      TEXT NOT NULL,
			body       TEXT NOT NULL,
			place      TEXT NOT NULL,
			start_ns   BIGINT NOT NULL,
			end_ns     BIGINT NOT NULL,
			org        TEXT NOT NULL,
			stations   TEXT NOT NULL,
			areas      TEXT NOT NULL,
			created_by TEXT NOT NULL,
			created_ns BIGINT NOT NULL,
			updated_ns BIGINT NOT NULL
		)`,
		`CREATE INDEX activities_end ON activities (end_ns)`,
		// An organisation's evaluation reads the orders it served: the
		// index holds all it needs (SQLite answers from it alone).
		`CREATE INDEX orders_org ON orders (org, state, rating) WHERE org <> ''`,
	}},
	{15, "service records, hour rules, review, public notice, holidays, stars, certificates", serviceRecordsSchema},
	{16, "targets: rollups of the plan's figures", targetsSchema},
}

// latestMigration is the highest migration number this program knows.
// Numbers are assigned ahead of the work that fills them, so a build may
// lack one below its highest: the highest, not the count, is the version.
func latestMigration() int {
	v := 0
	for _, m := range migrations {
		v = max(v, m.version)
	}
	return v
}

// migrationsTable is created, if missing, before migrations run.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_ns BIGINT NOT NULL
)`

// pgOnly starts a statement that runs on PostgreSQL only (a migration
// made only of such statements is recorded as applied on SQLite with
// nothing done, so the versions stay one list).
const pgOnly = "{{PG}}"

// dialectSQL fills the schema's dialect tokens: {{C}} (the byte
// collation) and {{ID}} (an integer key the database assigns, rising).
func dialectSQL(stmt string, postgres bool) string {
	c, id := "", "INTEGER PRIMARY KEY"
	if postgres {
		c, id = `COLLATE "C"`, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
	}
	return strings.NewReplacer("{{C}}", c, "{{ID}}", id).Replace(stmt)
}

// forDialect strips a leading {{SQLITE}} or {{PG}}, which marks a
// statement of one dialect only: ok is false for the other.
func forDialect(stmt string, postgres bool) (sql string, ok bool) {
	if rest, only := strings.CutPrefix(stmt, "{{SQLITE}}"); only {
		return rest, !postgres
	}
	if rest, only := strings.CutPrefix(stmt, "{{PG}}"); only {
		return rest, postgres
	}
	return stmt, true
}
