package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"leifeng/cloud/people"
)

// One area or organisation added or edited from the console or the API:
// the same checks as an import's rows (saveArea, saveOrganisation), in one
// transaction with the read of what was there before.

// AddArea stores a new area; ErrExists when its code is taken. A refusal
// of the import's checks wraps its people.Reason.
func (s *Store) AddArea(ctx context.Context, a people.Area, now time.Time) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("store: add area: %w", err)
	}
	err := s.b.inTx(ctx, func(q querier) error {
		if l, err := areaLevel(ctx, q, a.Code); err != nil {
			return err
		} else if l != "" {
			return fmt.Errorf("%w: area %s", ErrExists, a.Code)
		}
		res, err := saveArea(ctx, q, &a, now)
		return errors.Join(err, res.Err)
	})
	if err != nil {
		return fmt.Errorf("store: add area: %w", err)
	}
	return nil
}

// EditArea edits the stored area code by edit, which gets the area as
// stored and returns it changed (or an error, which is returned). It
// returns the area before and after; ErrNotFound when there is none.
func (s *Store) EditArea(ctx context.Context, code string, edit func(people.Area) (people.Area, error), now time.Time) (before, after people.Area, err error) {
	err = s.b.inTx(ctx, func(q querier) error {
		found := false
		if err := q.query(ctx, `SELECT code, name, parent, level, population FROM areas WHERE code = $1`, []any{code},
			func(r rows) error {
				found = true
				return r.Scan(&before.Code, &before.Name, &before.Parent, &before.Level, &before.Population)
			}); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: area %s", ErrNotFound, code)
		}
		a, err := edit(before)
		if err != nil {
			return err
		}
		a.Code = code
		res, err := saveArea(ctx, q, &a, now)
		after = a
		return errors.Join(err, res.Err)
	})
	if err != nil {
		return before, after, fmt.Errorf("store: edit area %s: %w", code, err)
	}
	return before, after, nil
}

// AddOrganisation stores a new organisation; ErrExists when its ID is
// taken. A refusal of the import's checks wraps its people.Reason.
func (s *Store) AddOrganisation(ctx context.Context, o people.Organisation, now time.Time) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("store: add organisation: %w", err)
	}
	err := s.b.inTx(ctx, func(q querier) error {
		taken := false
		if err := q.query(ctx, `SELECT 1 FROM organisations WHERE id = $1`, []any{o.ID},
			func(rows) error { taken = true; return nil }); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: organisation %s", ErrExists, o.ID)
		}
		res, err := saveOrganisation(ctx, q, &o, now)
		return errors.Join(err, res.Err)
	})
	if err != nil {
		return fmt.Errorf("store: add organisation: %w", err)
	}
	return nil
}

// EditOrganisation edits the stored organisation id by edit, as EditArea
// does an area.
func (s *Store) EditOrganisation(ctx context.Context, id string, edit func(people.Organisation) (people.Organisation, error), now time.Time) (before, after people.Organisation, err error) {
	err = s.b.inTx(ctx, func(q querier) error {
		found := false
		if err := q.query(ctx, `SELECT id, name, type, county, community, parent FROM organisations WHERE id = $1`, []any{id},
			func(r rows) error {
				found = true
				return r.Scan(&before.ID, &before.Name, &before.Type, &before.County, &before.Community, &before.Parent)
			}); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: organisation %s", ErrNotFound, id)
		}
		o, err := edit(before)
		if err != nil {
			return err
		}
		o.ID = id
		if o.Parent != "" && o.Parent != before.Parent {
			// A parent below the organisation would make a loop.
			var loop bool
			if err := q.query(ctx, `WITH RECURSIVE up(id, parent) AS (
					SELECT id, parent FROM organisations WHERE id = $1
					UNION SELECT o.id, o.parent FROM organisations o JOIN up ON o.id = up.parent)
				SELECT 1 FROM up WHERE id = $2`, []any{o.Parent, id}, func(rows) error { loop = true; return nil }); err != nil {
				return err
			}
			if loop {
				return fmt.Errorf("%w: %s is under %s", people.ErrSelfParent, o.Parent, id)
			}
		}
		res, err := saveOrganisation(ctx, q, &o, now)
		after = o
		return errors.Join(err, res.Err)
	})
	if err != nil {
		return before, after, fmt.Errorf("store: edit organisation %s: %w", id, err)
	}
	return before, after, nil
}
