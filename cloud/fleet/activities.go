package fleet

import (
	"context"
	"errors"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
)

// AnnouncementsMax is how many activities a station's document announces.
const AnnouncementsMax = 20

// announcements is station's announcements: the console's activities for
// it that have not ended yet, soonest first, at most AnnouncementsMax.
// Like the honor roll they are the cloud's to keep: made again at every
// refresh, so announcements pushed by hand into a station's document are
// replaced (the fleet defaults' stay, and show where a station has none).
func (s *Service) announcements(ctx context.Context, station string) ([]wire.Announcement, error) {
	acts, err := s.st.StationActivities(ctx, station, s.Now(), AnnouncementsMax)
	if err != nil || len(acts) == 0 {
		return nil, err
	}
	out := make([]wire.Announcement, 0, len(acts))
	for _, a := range acts {
		out = append(out, wire.Announcement{Title: a.Title, Body: a.Body, When: a.Start.UTC(), Where: a.Place})
	}
	return out, nil
}

// RefreshActivity sends its new document to every registered station
// that before or after (either may be nil: an activity added or deleted)
// is for, so an activity reaches the kiosks, or leaves them, at once.
func (s *Service) RefreshActivity(ctx context.Context, before, after *store.Activity) error {
	regs, err := s.st.Registrations(ctx, "")
	if err != nil {
		return err
	}
	communities, err := s.st.StationsCommunities(ctx)
	if err != nil {
		return err
	}
	paths := map[string][]string{}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, r := range regs {
		c := communities[r.ID]
		path, ok := paths[c]
		if !ok {
			if path, err = s.st.AreaPath(ctx, c); err != nil {
				return err
			}
			paths[c] = path
		}
		if (before == nil || !before.For(r.ID, path)) && (after == nil || !after.For(r.ID, path)) {
			continue
		}
		if err := s.refreshRoster(ctx, r.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
