package store

// starNoticeSchema is migration 25: objections to a star award in public
// notice (星级认定公示, issue 12 point 6). star_awards' state CHECK allows
// no 'objected' state and SQLite cannot relax a CHECK without rebuilding
// the table, so an objected award goes back to 'applied' (its approver's
// queue, approved_by and notice_until kept) and an open row here marks it
// held: it is not awarded until its approver resolves the objections —
// dismissed, notice resumes (or the star is awarded when the period is
// over); upheld, the award is rejected.
//
// via is 'kiosk' (raised_by the card's volunteer, record_id the kiosk
// record of kind 'objection' whose ref is "star:<id>") or 'console'
// (raised_by the user).
var starNoticeSchema = []string{
	`CREATE TABLE star_objections (
		id          BIGINT PRIMARY KEY,
		award       BIGINT NOT NULL,
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
	`CREATE INDEX star_objections_award ON star_objections (award, state)`,
	`CREATE UNIQUE INDEX star_objections_kiosk ON star_objections (record_id) WHERE record_id <> ''`,
}
