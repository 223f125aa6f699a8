package store

// serviceRecordsSchema is migration 15: what issue 12 (hours the city can
// trust) stores. It is one migration for all the parts so that each part
// is written against the same tables; a part that needs more adds a
// migration of its own.
//
// The life of a service record (status):
//
//	review   waits for a person (reasons says why, reviewer which level)
//	notice   in public notice (公示) until notice_until_ns, working days
//	objected an objection is open: it does not count until resolved
//	final    counted: the figures, rollups and certificates read these
//	rejected does not count (a reviewer's decision, with the reason)
//
// Hours are kept as integer hundredths (counted_cents: 0.5 h = 50) so that
// sums are exact in either database; raw_seconds is what the taps measured
// (monotonic clock within one boot), next to it.
var serviceRecordsSchema = []string{
	// The rules that turn a session into counted hours, one row per
	// version, never changed once written (hours.Rules as JSON). The
	// highest version is the one in force.
	`CREATE TABLE hour_rules (
		version    BIGINT PRIMARY KEY,
		doc        TEXT NOT NULL,
		created_by TEXT NOT NULL,
		created_ns BIGINT NOT NULL
	)`,
	// An activity (issue 12) is what a service record is part of:
	// category is the plan's 服务类别, content 服务内容 (body is the
	// announcement's text), lead 活动负责人, recorder 记录人; kind is
	// 'service' (counts), or a kind the rules may exclude ('meeting',
	// 'duty', ...). is_default marks a station's default activity, the
	// one a check-in with none chosen belongs to.
	`ALTER TABLE activities ADD COLUMN category TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE activities ADD COLUMN content TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE activities ADD COLUMN lead TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE activities ADD COLUMN recorder TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE activities ADD COLUMN kind TEXT NOT NULL DEFAULT 'service'`,
	`ALTER TABLE activities ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT FALSE`,
	// The check-in record's chosen activity (0: none chosen).
	`ALTER TABLE records ADD COLUMN activity BIGINT NOT NULL DEFAULT 0`,
	// One row per service record, in the national form (民政部令第67号
	// Art. 7): activity_name 活动名称, day 日期 (YYYY-MM-DD, China Standard
	// Time), place 地点, content 服务内容, start_ns/end_ns 服务时间, org and
	// org_name 活动组织单位, lead 活动负责人, recorder 记录人.
	//
	// id: 'tap:' + the check-in record's id (ledger 'card'), 'man:' + a
	// new UUID (ledger 'manual', 补录), 'imp:' + the source file's id
	// (ledger 'imported', final from the start).
	// community is where the service took place (the station's community
	// for a tap). rule_version names the hour_rules row that counted it
	// (0: imported, counted elsewhere) and rule_note says how, in Chinese,
	// for the record's page and the certificate.
	// reasons is a JSON list of review reasons (hours.Reason* codes);
	// reviewer the level that decides ('station', 'org', 'county',
	// 'city'; '' none). deadline_ns is 10 working days after the service
	// (Art. 11). evidence is JSON (hours.Evidence) for a manual entry;
	// entered_by who entered it, approved_by who approved it (never the
	// same person); outcome the last decision as the volunteer is shown
	// it, seen_ns when a kiosk showed it to them (0: not yet).
	`CREATE TABLE service_records (
		id             TEXT {{C}} PRIMARY KEY,
		ledger         TEXT NOT NULL CHECK (ledger IN ('card', 'manual', 'imported')),
		volunteer      TEXT NOT NULL,
		org            TEXT NOT NULL,
		org_name       TEXT NOT NULL,
		community      TEXT NOT NULL,
		station        TEXT NOT NULL,
		activity       BIGINT NOT NULL,
		activity_name  TEXT NOT NULL,
		place          TEXT NOT NULL,
		content        TEXT NOT NULL,
		category       TEXT NOT NULL,
		lead           TEXT NOT NULL,
		recorder       TEXT NOT NULL,
		day            TEXT NOT NULL,
		start_ns       BIGINT NOT NULL,
		end_ns         BIGINT NOT NULL,
		raw_seconds    BIGINT NOT NULL,
		counted_cents  BIGINT NOT NULL CHECK (counted_cents >= 0),
		rule_version   BIGINT NOT NULL,
		rule_note      TEXT NOT NULL,
		status         TEXT NOT NULL CHECK (status IN ('review', 'notice', 'objected', 'final', 'rejected')),
		reasons        TEXT NOT NULL,
		reviewer       TEXT NOT NULL,
		deadline_ns    BIGINT NOT NULL,
		notice_until_ns BIGINT NOT NULL,
		final_ns       BIGINT NOT NULL,
		evidence       TEXT NOT NULL,
		entered_by     TEXT NOT NULL,
		approved_by    TEXT NOT NULL,
		outcome        TEXT NOT NULL,
		seen_ns        BIGINT NOT NULL,
		check_in       TEXT {{C}} NOT NULL,
		check_out      TEXT {{C}} NOT NULL,
		created_ns     BIGINT NOT NULL,
		updated_ns     BIGINT NOT NULL
	)`,
	`CREATE INDEX service_records_volunteer ON service_records (volunteer, day)`,
	`CREATE INDEX service_records_open ON service_records (status, reviewer) WHERE status <> 'final' AND status <> 'rejected'`,
	`CREATE INDEX service_records_notice ON service_records (station, notice_until_ns) WHERE status IN ('notice', 'objected')`,
	`CREATE INDEX service_records_community ON service_records (community, day)`,
	`CREATE INDEX service_records_org ON service_records (org, day)`,
	// Every change of a service record: who, when, what and why (the
	// record's history; the audit log has the same with the request).
	`CREATE TABLE service_record_events (
		record      TEXT {{C}} NOT NULL,
		seq         INTEGER NOT NULL,
		at_ns       BIGINT NOT NULL,
		who         TEXT NOT NULL,
		action      TEXT NOT NULL,
		from_status TEXT NOT NULL,
		to_status   TEXT NOT NULL,
		reason      TEXT NOT NULL,
		detail      TEXT NOT NULL,
		PRIMARY KEY (record, seq)
	)`,
	// The volunteer-days whose taps changed since they were last counted:
	// ingest adds, the hours pass counts and removes.
	`CREATE TABLE hours_dirty (
		volunteer TEXT NOT NULL,
		day       TEXT NOT NULL,
		PRIMARY KEY (volunteer, day)
	)`,
	// The public-holiday calendar (国务院办公厅 notice, entered per year):
	// kind 'holiday' is a day off on a weekday, 'workday' a weekend day
	// worked (调休). Other days: Monday to Friday are working days.
	`CREATE TABLE holidays (
		day  TEXT PRIMARY KEY,
		kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
		name TEXT NOT NULL
	)`,
	// An objection to a record in notice, by card tap at a kiosk
	// (via 'kiosk', raised_by the card's volunteer, record_id the kiosk
	// record) or in the console (via 'console', raised_by the user).
	`CREATE TABLE objections (
		id          BIGINT PRIMARY KEY,
		record      TEXT {{C}} NOT NULL,
		via         TEXT NOT NULL,
		raised_by   TEXT NOT NULL,
		record_id   TEXT {{C}} NOT NULL,
		reason      TEXT NOT NULL,
		state       TEXT NOT NULL CHECK (state IN ('open', 'upheld', 'dismissed')),
		raised_ns   BIGINT NOT NULL,
		resolved_by TEXT NOT NULL,
		resolved_ns BIGINT NOT NULL,
		resolution  TEXT NOT NULL
	)`,
	`CREATE INDEX objections_record ON objections (record)`,
	`CREATE UNIQUE INDEX objections_kiosk ON objections (record_id) WHERE record_id <> ''`,
	// A star rating (星级认定) of a volunteer (subject_kind 'volunteer')
	// or an organisation ('org'): applied (or proposed), approved by the
	// level the rules name, in notice, then awarded — or rejected.
	`CREATE TABLE star_awards (
		id              BIGINT PRIMARY KEY,
		subject_kind    TEXT NOT NULL CHECK (subject_kind IN ('volunteer', 'org')),
		subject         TEXT NOT NULL,
		level           INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
		state           TEXT NOT NULL CHECK (state IN ('applied', 'notice', 'awarded', 'rejected')),
		basis           TEXT NOT NULL,
		approver        TEXT NOT NULL,
		applied_ns      BIGINT NOT NULL,
		approved_by     TEXT NOT NULL,
		notice_until_ns BIGINT NOT NULL,
		decided_ns      BIGINT NOT NULL,
		reason          TEXT NOT NULL
	)`,
	`CREATE INDEX star_awards_subject ON star_awards (subject_kind, subject, level)`,
	// A certificate of service (志愿服务证明, 民发〔2015〕149号): number is
	// what the QR code's /verify/{number} names; the figures are those
	// printed, kept so that the verification page says what the paper
	// says even after later records change.
	`CREATE TABLE certificates (
		number        TEXT PRIMARY KEY,
		volunteer     TEXT NOT NULL,
		masked_name   TEXT NOT NULL,
		from_day      TEXT NOT NULL,
		to_day        TEXT NOT NULL,
		card_cents    BIGINT NOT NULL,
		manual_cents  BIGINT NOT NULL,
		total_cents   BIGINT NOT NULL,
		records       BIGINT NOT NULL,
		issuer        TEXT NOT NULL,
		issued_by     TEXT NOT NULL,
		issued_ns     BIGINT NOT NULL,
		revoked_ns    BIGINT NOT NULL,
		revoked_by    TEXT NOT NULL,
		revoke_reason TEXT NOT NULL
	)`,
	`CREATE INDEX certificates_volunteer ON certificates (volunteer, issued_ns)`,
}
