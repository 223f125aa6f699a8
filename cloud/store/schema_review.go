package store

// reviewSchema is migration 17: the evidence of manual entries (补录,
// issue 12): a photo or a scan of the sign-in sheet, kept with the record
// it proves. The bytes live in the database so that a backup of it is a
// backup of the evidence; the size and type are bounded by the manual
// ledger (cloud/review) before they get here. sha256 is the hex digest,
// printed next to the file so that a copy can be checked against it.
var reviewSchema = []string{
	`{{SQLITE}} CREATE TABLE manual_evidence (
		id          TEXT PRIMARY KEY,
		record      TEXT NOT NULL,
		name        TEXT NOT NULL,
		type        TEXT NOT NULL,
		size        BIGINT NOT NULL,
		sha256      TEXT NOT NULL,
		data        BLOB NOT NULL,
		uploaded_by TEXT NOT NULL,
		created_ns  BIGINT NOT NULL
	)`,
	`{{PG}} CREATE TABLE manual_evidence (
		id          TEXT COLLATE "C" PRIMARY KEY,
		record      TEXT COLLATE "C" NOT NULL,
		name        TEXT NOT NULL,
		type        TEXT NOT NULL,
		size        BIGINT NOT NULL,
		sha256      TEXT NOT NULL,
		data        BYTEA NOT NULL,
		uploaded_by TEXT NOT NULL,
		created_ns  BIGINT NOT NULL
	)`,
	`CREATE INDEX manual_evidence_record ON manual_evidence (record)`,
	// The review queue of one level reads the records in review by
	// reviewer and then station, organisation or community.
	`CREATE INDEX service_records_review ON service_records (reviewer, station, org, community) WHERE status = 'review'`,
}
