package store

// noticeSchema is migration 18: what the public notice (公示), the
// objections and the star ratings need beyond migration 15.
var noticeSchema = []string{
	// Every kiosk record of kind 'objection' the notice pass has taken,
	// applied or not, so that each is applied once: objection is the
	// objections row it made (0: none), outcome "" when applied, else why
	// not, in Chinese (the record was no longer in notice, say).
	`CREATE TABLE objection_intake (
		record_id TEXT {{C}} PRIMARY KEY,
		objection BIGINT NOT NULL,
		outcome   TEXT NOT NULL,
		at_ns     BIGINT NOT NULL
	)`,
	`CREATE INDEX objections_open ON objections (state, record)`,
	// The notice pass looks for kiosks' objection records every minute.
	`CREATE INDEX records_objection ON records (time_ns) WHERE kind = 'objection'`,
	// Who applied for a star (or proposed an organisation's): the approver
	// must be someone else.
	`ALTER TABLE star_awards ADD COLUMN applied_by TEXT NOT NULL DEFAULT ''`,
	// The star queue and the award pass read star_awards by state.
	`CREATE INDEX star_awards_state ON star_awards (state, approver)`,
}
