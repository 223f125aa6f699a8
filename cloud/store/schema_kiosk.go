package store

// kioskSchema is migration 21: what the kiosk's side of issue 12 needs
// beyond migration 15. notified_ns is when a station document first
// carried the record's outcome as it stands (0: not yet; a later change
// of the record, updated_ns above it, makes it due again): an outcome is
// seen (seen_ns) once its volunteer checks in at such a station after
// that (store.MarkOutcomesSeen, see cloud/fleet notice.go).
var kioskSchema = []string{
	`ALTER TABLE service_records ADD COLUMN notified_ns BIGINT NOT NULL DEFAULT 0`,
}
