package store

import (
	"context"
	"fmt"
	"time"
)

// What a station's kiosk is told of its volunteers' review outcomes
// (issue 12, point 4): the outcomes they have not seen yet, which the
// kiosk shows at their next tap; cloud/fleet puts them in the station's
// document. The station's notice list is StationNotice (notice.go).

// inChunk bounds the IN lists of the queries below.
const inChunk = 500

// UnseenOutcomes is, per volunteer of volunteers, the records whose
// review outcome they have not been shown (outcome set, seen_ns 0),
// most recently decided first, at most perVolunteer each (0: all).
func (s *Store) UnseenOutcomes(ctx context.Context, volunteers []string, perVolunteer int) (map[string][]ServiceRecord, error) {
	out := map[string][]ServiceRecord{}
	for len(volunteers) > 0 {
		chunk := volunteers[:min(len(volunteers), inChunk)]
		volunteers = volunteers[len(chunk):]
		err := s.b.query(ctx, `SELECT `+serviceRecordCols+` FROM service_records
			WHERE volunteer IN (`+marks(1, len(chunk))+`) AND seen_ns = 0 AND outcome <> ''
			ORDER BY volunteer, updated_ns DESC, id`, anys(chunk), func(r rows) error {
			x, err := scanServiceRecord(r)
			if err == nil && (perVolunteer <= 0 || len(out[x.Volunteer]) < perVolunteer) {
				out[x.Volunteer] = append(out[x.Volunteer], x)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: unseen outcomes: %w", err)
		}
	}
	return out, nil
}

// NoteOutcomesCarried records that a station document pushed at carried
// the outcomes of records ids: notified_ns is set to at on each record
// unseen whose outcome was not yet carried since it last changed
// (notified_ns < updated_ns). It returns how many it set.
func (s *Store) NoteOutcomesCarried(ctx context.Context, ids []string, at time.Time) (int, error) {
	total := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), inChunk)]
		ids = ids[len(chunk):]
		n, err := s.b.exec(ctx, `UPDATE service_records SET notified_ns = $1
			WHERE seen_ns = 0 AND outcome <> '' AND notified_ns < updated_ns AND id IN (`+marks(2, len(chunk))+`)`,
			append([]any{nanos(at)}, anys(chunk)...)...)
		if err != nil {
			return total, fmt.Errorf("store: outcomes carried: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// MarkOutcomesSeen marks seen (seen_ns = at) each record of ids whose
// outcome a station document carries, once its volunteer checked in at
// station after a document first carried the outcome as it stands
// (notified_ns ≥ updated_ns, and a check-in record there with a later
// time): the kiosk showed it at that tap. It returns how many it marked.
// The record's history is not touched: being seen changes nothing of it.
func (s *Store) MarkOutcomesSeen(ctx context.Context, station string, ids []string, at time.Time) (int, error) {
	total := 0
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), inChunk)]
		ids = ids[len(chunk):]
		n, err := s.b.exec(ctx, `UPDATE service_records SET seen_ns = $1
			WHERE seen_ns = 0 AND outcome <> '' AND notified_ns > 0 AND notified_ns >= updated_ns
			AND id IN (`+marks(3, len(chunk))+`)
			AND EXISTS (SELECT 1 FROM records r WHERE r.kind = 'check_in' AND r.station = $2
				AND r.volunteer = service_records.volunteer AND r.time_ns > service_records.notified_ns)`,
			append([]any{nanos(at), station}, anys(chunk)...)...)
		if err != nil {
			return total, fmt.Errorf("store: mark outcomes seen: %w", err)
		}
		total += int(n)
	}
	return total, nil
}
