package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"leifeng/cloud/people"
)

// ErrWrongKey is returned by CheckPeopleKey when the database's ID numbers
// were sealed with another key than the one given.
var ErrWrongKey = errors.New("store: the ID-number key differs from the one this database was written with")

// ErrClearIDNumber is returned by RegisterVolunteers for a volunteer that
// still carries its ID number in clear (not sealed by people.Vault).
var ErrClearIDNumber = errors.New("store: ID number not sealed")

const dateLayout = "2006-01-02"

// areaLevel returns the level of the area code ("" when unknown).
func areaLevel(ctx context.Context, q querier, code string) (people.Level, error) {
	var l string
	err := q.query(ctx, `SELECT level FROM areas WHERE code = $1`, []any{code}, func(r rows) error { return r.Scan(&l) })
	return people.Level(l), err
}

// SaveAreas stores areas in one transaction, in order, so a parent given
// earlier in the same batch counts. A row whose code is stored already is
// updated when it differs. Each row's Result says what happened; the
// error is for the batch (the database), when nothing was stored.
func (s *Store) SaveAreas(ctx context.Context, areas []people.Area, now time.Time) ([]people.Result, error) {
	var out []people.Result
	err := s.b.inTx(ctx, func(q querier) error {
		out = make([]people.Result, len(areas))
		for i := range areas {
			res, err := saveArea(ctx, q, &areas[i], now)
			if err != nil {
				return err
			}
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save areas: %w", err)
	}
	return out, nil
}

func saveArea(ctx context.Context, q querier, a *people.Area, now time.Time) (people.Result, error) {
	if err := a.Validate(); err != nil {
		return people.Result{Err: err}, nil
	}
	if a.Parent != "" {
		l, err := areaLevel(ctx, q, a.Parent)
		if err != nil {
			return people.Result{}, err
		}
		switch {
		case l == "":
			return people.Result{Err: fmt.Errorf("%w: parent %s", people.ErrUnknownArea, a.Parent)}, nil
		case l != a.Level.Parent():
			return people.Result{Err: fmt.Errorf("%w: %s under %s", people.ErrBadParent, a.Level, l)}, nil
		}
	}
	var old people.Area
	found := false
	err := q.query(ctx, `SELECT code, name, parent, level, population FROM areas WHERE code = $1`, []any{a.Code},
		func(r rows) error {
			found = true
			return r.Scan(&old.Code, &old.Name, &old.Parent, &old.Level, &old.Population)
		})
	if err != nil {
		return people.Result{}, err
	}
	if found && old == *a {
		return people.Result{Outcome: people.Unchanged}, nil
	}
	if found && old.Level != a.Level {
		// Moving a level would leave its children one level off.
		n := 0
		if err := q.query(ctx, `SELECT COUNT(*) FROM areas WHERE parent = $1`, []any{a.Code},
			func(r rows) error { return r.Scan(&n) }); err != nil {
			return people.Result{}, err
		}
		if n > 0 {
			return people.Result{Err: fmt.Errorf("%w: %s has areas under it, its level stays %s", people.ErrBadParent, a.Code, old.Level)}, nil
		}
	}
	_, err = q.exec(ctx, `INSERT INTO areas (code, name, parent, level, population, updated_ns) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent, level = excluded.level,
			population = excluded.population, updated_ns = excluded.updated_ns`,
		a.Code, a.Name, a.Parent, string(a.Level), a.Population, nanos(now))
	if err != nil {
		return people.Result{}, err
	}
	if found {
		return people.Result{Outcome: people.Updated}, nil
	}
	return people.Result{Outcome: people.Added}, nil
}

// Area returns one area, or ErrNotFound.
func (s *Store) Area(ctx context.Context, code string) (*people.Area, error) {
	as, err := s.areas(ctx, `WHERE code = $1`, code)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("%w: area %s", ErrNotFound, code)
	}
	return &as[0], nil
}

// Areas returns the areas directly under parent ("" : the city), by code.
func (s *Store) Areas(ctx context.Context, parent string) ([]people.Area, error) {
	return s.areas(ctx, `WHERE parent = $1`, parent)
}

func (s *Store) areas(ctx context.Context, where string, arg string) ([]people.Area, error) {
	var out []people.Area
	err := s.b.query(ctx, `SELECT code, name, parent, level, population FROM areas `+where+` ORDER BY code`, []any{arg},
		func(r rows) error {
			var a people.Area
			err := r.Scan(&a.Code, &a.Name, &a.Parent, &a.Level, &a.Population)
			out = append(out, a)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: areas: %w", err)
	}
	return out, nil
}

// SaveOrganisations stores organisations in one transaction, in order (a
// parent given earlier in the batch counts), updating a stored one that
// differs. County must be a county-level area, Community a community, and
// Parent a stored organisation.
func (s *Store) SaveOrganisations(ctx context.Context, orgs []people.Organisation, now time.Time) ([]people.Result, error) {
	var out []people.Result
	err := s.b.inTx(ctx, func(q querier) error {
		out = make([]people.Result, len(orgs))
		for i := range orgs {
			res, err := saveOrganisation(ctx, q, &orgs[i], now)
			if err != nil {
				return err
			}
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save organisations: %w", err)
	}
	return out, nil
}

func saveOrganisation(ctx context.Context, q querier, o *people.Organisation, now time.Time) (people.Result, error) {
	if err := o.Validate(); err != nil {
		return people.Result{Err: err}, nil
	}
	if o.County != "" {
		l, err := areaLevel(ctx, q, o.County)
		if err != nil {
			return people.Result{}, err
		}
		switch l {
		case people.LevelCounty:
		case "":
			return people.Result{Err: fmt.Errorf("%w: county %s", people.ErrUnknownArea, o.County)}, nil
		default:
			return people.Result{Err: fmt.Errorf("%w: %s is a %s", people.ErrBadCounty, o.County, l)}, nil
		}
	}
	if o.Community != "" {
		l, err := areaLevel(ctx, q, o.Community)
		if err != nil {
			return people.Result{}, err
		}
		if l != people.LevelCommunity {
			return people.Result{Err: fmt.Errorf("%w: %s", people.ErrUnknownCommunity, o.Community)}, nil
		}
	}
	var old people.Organisation
	found, parentFound := false, o.Parent == ""
	err := q.query(ctx, `SELECT id, name, type, county, community, parent FROM organisations WHERE id = $1 OR id = $2`,
		[]any{o.ID, o.Parent}, func(r rows) error {
			var x people.Organisation
			if err := r.Scan(&x.ID, &x.Name, &x.Type, &x.County, &x.Community, &x.Parent); err != nil {
				return err
			}
			if x.ID == o.ID {
				found, old = true, x
			} else {
				parentFound = true
			}
			return nil
		})
	if err != nil {
		return people.Result{}, err
	}
	if !parentFound {
		return people.Result{Err: fmt.Errorf("%w: parent %s", people.ErrUnknownOrg, o.Parent)}, nil
	}
	if found && old == *o {
		return people.Result{Outcome: people.Unchanged}, nil
	}
	_, err = q.exec(ctx, `INSERT INTO organisations (id, name, type, county, community, parent, updated_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, type = excluded.type, county = excluded.county,
			community = excluded.community, parent = excluded.parent, updated_ns = excluded.updated_ns`,
		o.ID, o.Name, o.Type, o.County, o.Community, o.Parent, nanos(now))
	if err != nil {
		return people.Result{}, err
	}
	if found {
		return people.Result{Outcome: people.Updated}, nil
	}
	return people.Result{Outcome: people.Added}, nil
}

// Organisation returns one organisation, or ErrNotFound.
func (s *Store) Organisation(ctx context.Context, id string) (*people.Organisation, error) {
	var out *people.Organisation
	err := s.b.query(ctx, `SELECT id, name, type, county, community, parent FROM organisations WHERE id = $1`, []any{id},
		func(r rows) error {
			out = new(people.Organisation)
			return r.Scan(&out.ID, &out.Name, &out.Type, &out.County, &out.Community, &out.Parent)
		})
	if err != nil {
		return nil, fmt.Errorf("store: organisation %s: %w", id, err)
	}
	if out == nil {
		return nil, fmt.Errorf("%w: organisation %s", ErrNotFound, id)
	}
	return out, nil
}

// RegisterVolunteers registers volunteers checked by people.Volunteer.Check
// in one transaction, in order. A volunteer is refused when another ID
// holds the same ID-number hash (people.ErrDuplicatePerson), when its ID
// is registered to another person (people.ErrIDTaken), or when its
// community or an organisation is unknown. The same person under the same
// ID again is Unchanged: registering never overwrites what is stored
// (edits keep a history, elsewhere). A roster entry of the same ID (a
// name only) becomes the registered volunteer.
func (s *Store) RegisterVolunteers(ctx context.Context, vs []people.Volunteer, now time.Time) ([]people.Result, error) {
	for i := range vs {
		if vs[i].IDNumber != "" || vs[i].Sealed.Hash == "" || vs[i].Sealed.Cipher == "" {
			return nil, fmt.Errorf("%w: volunteer %s", ErrClearIDNumber, vs[i].ID)
		}
	}
	var out []people.Result
	err := s.b.inTx(ctx, func(q querier) error {
		out = make([]people.Result, len(vs))
		known := map[string]bool{}
		for i := range vs {
			res, err := registerVolunteer(ctx, q, &vs[i], known, now)
			if err != nil {
				return err
			}
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: register volunteers: %w", err)
	}
	return out, nil
}

// registerVolunteer registers one volunteer; known caches the community
// codes ("a:") and organisation IDs ("o:") already looked up.
func registerVolunteer(ctx context.Context, q querier, v *people.Volunteer, known map[string]bool, now time.Time) (people.Result, error) {
	var other string
	// "id_hash <> ''" lets both databases use the partial unique index,
	// which a bare parameter cannot prove applies.
	if err := q.query(ctx, `SELECT id FROM volunteers WHERE id_hash = $1 AND id_hash <> ''`, []any{v.Sealed.Hash},
		func(r rows) error { return r.Scan(&other) }); err != nil {
		return people.Result{}, err
	}
	if other != "" && other != v.ID {
		return people.Result{Err: fmt.Errorf("%w: registered as %s", people.ErrDuplicatePerson, other)}, nil
	}
	if other == v.ID {
		return people.Result{Outcome: people.Unchanged}, nil
	}
	var registered int64
	if err := q.query(ctx, `SELECT registered_ns FROM volunteers WHERE id = $1`, []any{v.ID},
		func(r rows) error { return r.Scan(&registered) }); err != nil {
		return people.Result{}, err
	}
	if registered > 0 {
		return people.Result{Err: fmt.Errorf("%w: %s", people.ErrIDTaken, v.ID)}, nil
	}
	ok, err := exists(ctx, q, known, "a:"+v.Community, `SELECT 1 FROM areas WHERE code = $1 AND level = 'community'`, v.Community)
	if err != nil {
		return people.Result{}, err
	}
	if !ok {
		return people.Result{Err: fmt.Errorf("%w: %s", people.ErrUnknownCommunity, v.Community)}, nil
	}
	for _, o := range v.Orgs {
		ok, err := exists(ctx, q, known, "o:"+o, `SELECT 1 FROM organisations WHERE id = $1`, o)
		if err != nil {
			return people.Result{}, err
		}
		if !ok {
			return people.Result{Err: fmt.Errorf("%w: %s", people.ErrUnknownOrg, o)}, nil
		}
	}
	skills, _ := json.Marshal(orEmpty(v.Skills))
	types, _ := json.Marshal(orEmpty(v.ServiceTypes))
	_, err = q.exec(ctx, `INSERT INTO volunteers (id, name, updated_ns, gender, birth_date, id_cipher, id_hash, id_masked,
			community, phone, skills, service_types, grp, national_id, guardian_consent, registered_on, registered_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $3)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_ns = excluded.updated_ns,
			gender = excluded.gender, birth_date = excluded.birth_date, id_cipher = excluded.id_cipher,
			id_hash = excluded.id_hash, id_masked = excluded.id_masked, community = excluded.community,
			phone = excluded.phone, skills = excluded.skills, service_types = excluded.service_types,
			grp = excluded.grp, national_id = excluded.national_id, guardian_consent = excluded.guardian_consent,
			registered_on = excluded.registered_on, registered_ns = excluded.registered_ns`,
		v.ID, v.Name, nanos(now), string(v.Gender), v.BirthDate.Format(dateLayout), v.Sealed.Cipher, v.Sealed.Hash,
		v.Sealed.Masked, v.Community, v.Phone, string(skills), string(types), string(v.Group), v.NationalID,
		v.GuardianConsent, v.RegisteredOn.Format(dateLayout))
	if err != nil {
		return people.Result{}, err
	}
	for _, o := range v.Orgs {
		if _, err := q.exec(ctx, `INSERT INTO volunteer_orgs (volunteer, org) VALUES ($1, $2) ON CONFLICT DO NOTHING`, v.ID, o); err != nil {
			return people.Result{}, err
		}
	}
	return people.Result{Outcome: people.Added}, nil
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// exists runs a query of one argument and caches whether it found a row;
// only hits are cached, since a later row of the batch may add the thing.
func exists(ctx context.Context, q querier, cache map[string]bool, key, query, arg string) (bool, error) {
	if cache[key] {
		return true, nil
	}
	found := false
	if err := q.query(ctx, query, []any{arg}, func(rows) error { found = true; return nil }); err != nil {
		return false, err
	}
	if found {
		cache[key] = true
	}
	return found, nil
}

// Volunteer returns a registered volunteer with the ID number sealed (as
// stored), or ErrNotFound; a roster entry without registration is not
// found. A deregistered volunteer is found, with Deregistered set and
// only what deregistration kept.
func (s *Store) Volunteer(ctx context.Context, id string) (*people.Volunteer, error) {
	v, err := loadVolunteer(ctx, s.b, id)
	if err != nil {
		return nil, fmt.Errorf("store: volunteer %s: %w", id, err)
	}
	return v, nil
}

// loadVolunteer reads a registered volunteer and their organisations.
func loadVolunteer(ctx context.Context, q querier, id string) (*people.Volunteer, error) {
	var v *people.Volunteer
	err := q.query(ctx, `SELECT id, name, gender, birth_date, id_cipher, id_hash, id_masked, community, phone,
			skills, service_types, grp, national_id, guardian_consent, registered_on, deregistered_ns, deregister_reason
		FROM volunteers WHERE id = $1 AND registered_ns > 0`, []any{id},
		func(r rows) error {
			v = new(people.Volunteer)
			var (
				gender, birth, skills, types, grp, reg string
				dereg                                  int64
			)
			if err := r.Scan(&v.ID, &v.Name, &gender, &birth, &v.Sealed.Cipher, &v.Sealed.Hash, &v.Sealed.Masked,
				&v.Community, &v.Phone, &skills, &types, &grp, &v.NationalID, &v.GuardianConsent, &reg,
				&dereg, &v.DeregisterReason); err != nil {
				return err
			}
			v.Gender, v.Group, v.Deregistered = people.Gender(gender), people.Group(grp), fromNanos(dereg)
			var err error
			if birth != "" {
				if v.BirthDate, err = time.Parse(dateLayout, birth); err != nil {
					return err
				}
			}
			if v.RegisteredOn, err = time.Parse(dateLayout, reg); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(skills), &v.Skills); err != nil {
				return err
			}
			return json.Unmarshal([]byte(types), &v.ServiceTypes)
		})
	if err == nil && v != nil {
		err = q.query(ctx, `SELECT org FROM volunteer_orgs WHERE volunteer = $1 ORDER BY org`, []any{id},
			func(r rows) error {
				var o string
				err := r.Scan(&o)
				v.Orgs = append(v.Orgs, o)
				return err
			})
	}
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: volunteer %s", ErrNotFound, id)
	}
	v.Skills, v.ServiceTypes = slices.Clip(v.Skills), slices.Clip(v.ServiceTypes)
	return v, nil
}

// CountVolunteers counts the registered volunteers (not deregistered).
func (s *Store) CountVolunteers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.b.query(ctx, `SELECT COUNT(*) FROM volunteers WHERE registered_ns > 0 AND deregistered_ns = 0`, nil,
		func(r rows) error { return r.Scan(&n) }); err != nil {
		return 0, fmt.Errorf("store: count volunteers: %w", err)
	}
	return n, nil
}

// Setting keys.
const (
	settingLeadingOffice = "leading_office"
	settingPeopleKey     = "people_key_check"
)

func (s *Store) setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	found := false
	err := s.b.query(ctx, `SELECT value FROM settings WHERE key = $1`, []any{key},
		func(r rows) error { found = true; return r.Scan(&v) })
	if err != nil {
		return "", false, fmt.Errorf("store: setting %s: %w", key, err)
	}
	return v, found, nil
}

// LeadingOffice is the name of the office that leads the city's volunteer
// work as the administrators set it, or people.DefaultLeadingOffice.
func (s *Store) LeadingOffice(ctx context.Context) (string, error) {
	v, found, err := s.setting(ctx, settingLeadingOffice)
	if err != nil || !found || v == "" {
		return people.DefaultLeadingOffice, err
	}
	return v, nil
}

// SetLeadingOffice sets the leading office's name ("" goes back to the
// default).
func (s *Store) SetLeadingOffice(ctx context.Context, name string, now time.Time) error {
	if _, err := s.b.exec(ctx, `INSERT INTO settings (key, value, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ns = excluded.updated_ns`,
		settingLeadingOffice, name, nanos(now)); err != nil {
		return fmt.Errorf("store: set leading office: %w", err)
	}
	return nil
}

// CheckPeopleKey compares a people.Vault's Check with the one stored by
// the first process that wrote volunteers, storing it if none is; a
// different key fails with ErrWrongKey, so a cloud started with another
// key file neither writes unreadable numbers nor misses duplicates.
func (s *Store) CheckPeopleKey(ctx context.Context, check string, now time.Time) error {
	var stored string
	err := s.b.inTx(ctx, func(q querier) error {
		if err := q.query(ctx, `SELECT value FROM settings WHERE key = $1`, []any{settingPeopleKey},
			func(r rows) error { return r.Scan(&stored) }); err != nil || stored != "" {
			return err
		}
		stored = check
		_, err := q.exec(ctx, `INSERT INTO settings (key, value, updated_ns) VALUES ($1, $2, $3)`, settingPeopleKey, check, nanos(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: check people key: %w", err)
	}
	if stored != check {
		return ErrWrongKey
	}
	return nil
}
