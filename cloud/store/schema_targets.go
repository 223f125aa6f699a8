package store

// targetsSchema is migration 16: the rollups the plan's figures (issue
// 14, cloud/targets) are read from, kept up to date by the rollup hook
// (targets.go) in the transaction of every service-record change, and
// checked or rebuilt by `leifeng-cloud targets rebuild`.
//
// Months are integers YYYYMM (China Standard Time), school years the
// year they end in (school year 2026: 1 September 2025 to 31 August
// 2026). Only final service records count.
var targetsSchema = []string{
	// What the rollups counted each volunteer as: their home community
	// (kept after deregistration, which empties volunteers.community),
	// college student or not (volunteers.grp 'college_student'), the
	// month they registered (registered_on, 0: not registered) and the
	// month they were deregistered (0: not). A change of these (seen by
	// volunteers.updated_ns) moves the volunteer's counts.
	`CREATE TABLE target_members (
		volunteer   TEXT PRIMARY KEY,
		community   TEXT NOT NULL,
		college     INTEGER NOT NULL,
		reg_month   INTEGER NOT NULL,
		dereg_month INTEGER NOT NULL
	)`,
	// Per volunteer and month: the counted hours (hundredths) and the
	// number of final records.
	`CREATE TABLE target_volunteer_months (
		volunteer TEXT NOT NULL,
		month     INTEGER NOT NULL,
		cents     BIGINT NOT NULL,
		records   BIGINT NOT NULL,
		PRIMARY KEY (volunteer, month)
	)`,
	// Registered volunteers per home community by the months they
	// registered and left: "registered at the end of month M" is
	// reg_month <= M and (dereg_month = 0 or dereg_month > M).
	`CREATE TABLE target_registered (
		community   TEXT NOT NULL,
		college     INTEGER NOT NULL,
		reg_month   INTEGER NOT NULL,
		dereg_month INTEGER NOT NULL,
		n           BIGINT NOT NULL,
		PRIMARY KEY (community, college, reg_month, dereg_month)
	)`,
	// Per home community and month, over the volunteers registered at the
	// end of the month's year (or today, for this year): counted hours,
	// records (person-times), and first_active the volunteers whose first
	// final record of the year is in this month (a year's sum is the
	// active volunteers).
	`CREATE TABLE target_cells (
		community    TEXT NOT NULL,
		month        INTEGER NOT NULL,
		cents        BIGINT NOT NULL,
		records      BIGINT NOT NULL,
		first_active BIGINT NOT NULL,
		PRIMARY KEY (community, month)
	)`,
	// College students registered at the end of a school year with at
	// least 100 counted hours in it, per home community.
	`CREATE TABLE target_college_done (
		community   TEXT NOT NULL,
		school_year INTEGER NOT NULL,
		n           BIGINT NOT NULL,
		PRIMARY KEY (community, school_year)
	)`,
	// Final records per organisation, the community where the service
	// took place (the record's, or its station's), and month: the
	// monthly visits compare community with the organisation's linked
	// community when read, so relinking an organisation needs no rebuild.
	`CREATE TABLE target_org_months (
		org       TEXT NOT NULL,
		community TEXT NOT NULL,
		month     INTEGER NOT NULL,
		records   BIGINT NOT NULL,
		PRIMARY KEY (org, community, month)
	)`,
	// The rollups' bookkeeping: 'volunteers_ns', the volunteers.updated_ns
	// up to which changes of volunteers were applied.
	`CREATE TABLE target_state (
		key   TEXT PRIMARY KEY,
		value BIGINT NOT NULL
	)`,
	`CREATE INDEX volunteers_updated ON volunteers (updated_ns)`,
	// A database that had volunteers before this migration has rollups to
	// build from them: the first read does it (RebuildTargets), unless
	// `leifeng-cloud targets rebuild` did already.
	`INSERT INTO target_state (key, value) SELECT 'needs_rebuild', 1 WHERE EXISTS (SELECT 1 FROM volunteers)`,
}
