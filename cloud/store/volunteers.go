package store

// Volunteers: search, registering one, edits with history, the data
// export a volunteer asks for, and deregistration (注销).
//
// Names and phone numbers are stored in clear and leave the store masked
// in search results (people.VolunteerSummary). The ID number is the one
// personal field sealed at rest: the issue and the 志愿服务条例 single it
// out, PIPL Art. 28 counts it among the sensitive ones, and it is only
// ever matched whole (through its keyed hash). A phone number is neither
// sensitive under Art. 28 nor kept from the administrators in scope,
// whose work is to call volunteers; sealing it would buy a keyed hash for
// exact search and cost the console the number. So it is stored
// normalised (people.NormalizePhone), in clear, indexed, and searched by
// exact number; deregistration removes it.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"leifeng/cloud/people"
	"leifeng/gateway/ingest"
)

// VolunteerScope is the part of the city a user may see volunteers of, as
// the caller resolved it from the user's scope (cloud/access): every
// volunteer (All), or those living in one of Communities, belonging to
// one of Orgs, or listed for or having served at one of Stations (a
// station manager's). The zero scope sees nobody.
type VolunteerScope struct {
	All         bool
	Communities []string
	Orgs        []string
	Stations    []string
}

// VolunteerQuery is a search.
type VolunteerQuery struct {
	Scope VolunteerScope
	// Terms is what the user typed, read by people.ParseSearch: a name
	// (by prefix), a phone number, a card serial, a volunteer ID, or an
	// ID number (by its keyed hash). Empty lists everyone in scope.
	Terms people.Search
	// Community and Org narrow the search further ("" : any).
	Community string
	Org       string
	// Deregistered includes deregistered volunteers.
	Deregistered bool
	// Page counts from 1; PageSize is 20 when 0, at most 200.
	Page, PageSize int
}

// VolunteerPage is one page of a search, in name order; More says a
// next page has at least one volunteer.
type VolunteerPage struct {
	Volunteers []people.VolunteerSummary `json:"volunteers"`
	Page       int                       `json:"page"`
	PageSize   int                       `json:"page_size"`
	More       bool                      `json:"more"`
}

// explainSearch, when set (by a benchmark), sees each search's SQL.
var explainSearch func(query string, args []any)

// maxPageSize bounds a page of search results.
const maxPageSize = 200

// cardOwner and volunteerCards read the cards table (migration 9 of the
// cards helper; migration 10 makes its two columns when that has not run).
const (
	cardOwner      = `SELECT volunteer FROM cards WHERE serial = $1`
	volunteerCards = `SELECT serial FROM cards WHERE volunteer = $1 ORDER BY serial`
)

// SearchVolunteers finds volunteers in q.Scope matching q.Terms, a page
// at a time, ordered by name and ID. Every term is answered from an
// index: a name by prefix in byte order, a phone or an ID-number hash by
// equality, a card through its serial. Results carry names and phone
// numbers masked.
func (s *Store) SearchVolunteers(ctx context.Context, q VolunteerQuery) (*VolunteerPage, error) {
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PageSize <= 0 {
		q.PageSize = 20
	}
	q.PageSize = min(q.PageSize, maxPageSize)
	out := &VolunteerPage{Page: q.Page, PageSize: q.PageSize, Volunteers: []people.VolunteerSummary{}}
	sc := q.Scope
	if !sc.All && len(sc.Communities) == 0 && len(sc.Orgs) == 0 && len(sc.Stations) == 0 {
		return out, nil
	}
	var (
		args  []any
		where []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	list := func(xs []string) string {
		ps := make([]string, len(xs))
		for i, x := range xs {
			ps[i] = arg(x)
		}
		return strings.Join(ps, ", ")
	}
	where = append(where, "v.registered_ns > 0")
	if !q.Deregistered {
		where = append(where, "v.deregistered_ns = 0")
	}
	t := q.Terms
	prefix := func(col string) string {
		// Every name starting with the prefix sorts between it and it
		// followed by the highest code point.
		return fmt.Sprintf(`%s {{C}} >= %s AND %s {{C}} < %s`, col, arg(t.NamePrefix), col, arg(t.NamePrefix+"\U0010FFFF"))
	}
	if t == (people.Search{NamePrefix: t.NamePrefix}) {
		// A name alone walks the name index in order.
		if t.NamePrefix != "" {
			where = append(where, prefix("v.name"))
		}
	} else {
		// Exact terms find a few volunteers each, by their own index;
		// their union is then ordered. (An OR of them in one WHERE
		// makes PostgreSQL walk the name index and test every row.)
		var sub []string
		if t.NamePrefix != "" {
			sub = append(sub, `SELECT id FROM volunteers WHERE `+prefix("name")+` AND registered_ns > 0`)
		}
		if t.Phone != "" {
			sub = append(sub, `SELECT id FROM volunteers WHERE phone = `+arg(t.Phone)+` AND phone <> ''`)
		}
		if t.IDHash != "" {
			sub = append(sub, `SELECT id FROM volunteers WHERE id_hash = `+arg(t.IDHash)+` AND id_hash <> ''`)
		}
		if t.Card != "" {
			sub = append(sub, strings.Replace(cardOwner, "$1", arg(t.Card), 1))
		}
		if t.ID != "" {
			sub = append(sub, `SELECT id FROM volunteers WHERE id = `+arg(t.ID))
		}
		where = append(where, "v.id IN ("+strings.Join(sub, " UNION ")+")")
	}
	if q.Community != "" {
		where = append(where, "v.community = "+arg(q.Community))
	}
	if q.Org != "" {
		where = append(where, "v.id IN (SELECT volunteer FROM volunteer_orgs WHERE org = "+arg(q.Org)+")")
	}
	if !sc.All {
		var in []string
		if len(sc.Communities) > 0 {
			in = append(in, "v.community IN ("+list(sc.Communities)+")")
		}
		if len(sc.Orgs) > 0 {
			in = append(in, "v.id IN (SELECT volunteer FROM volunteer_orgs WHERE org IN ("+list(sc.Orgs)+"))")
		}
		if len(sc.Stations) > 0 {
			st := list(sc.Stations)
			in = append(in, "v.id IN (SELECT volunteer FROM volunteer_stations WHERE station IN ("+st+")"+
				" UNION SELECT volunteer FROM records WHERE station IN ("+st+") AND kind = 'check_in')")
		}
		where = append(where, "("+strings.Join(in, " OR ")+")")
	}
	order := `v.name {{C}}`
	if !sc.All && len(sc.Communities) == 0 {
		// An organisation's members (or a station's volunteers) are a
		// few hundred of the city's
		// volunteers, spread over every name: PostgreSQL, seeing a LIMIT,
		// would walk the name index and test each row against them
		// (343 ms at 500,000 volunteers). Ordering by an expression the
		// index does not hold makes it fetch the members and sort them.
		order = `(v.name || '') {{C}}`
	}
	query := `SELECT v.id, v.name, v.gender, v.community, v.phone, v.grp, v.registered_on, v.deregistered_ns
		FROM volunteers v WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY ` + order + `, v.id LIMIT ` + arg(int64(q.PageSize+1)) + ` OFFSET ` + arg(int64((q.Page-1)*q.PageSize))
	query = dialectSQL(query, s.b.dialect() == "postgres")
	if explainSearch != nil {
		explainSearch(query, args)
	}
	err := s.b.query(ctx, query, args, func(r rows) error {
		var (
			v           people.VolunteerSummary
			name, phone string
			dereg       int64
		)
		if err := r.Scan(&v.ID, &name, &v.Gender, &v.Community, &phone, &v.Group, &v.RegisteredOn, &dereg); err != nil {
			return err
		}
		v.Name, v.Phone, v.Deregistered = people.MaskName(name), people.MaskPhone(phone), dereg > 0
		out.Volunteers = append(out.Volunteers, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: search volunteers: %w", err)
	}
	if len(out.Volunteers) > q.PageSize {
		out.Volunteers, out.More = out.Volunteers[:q.PageSize], true
	}
	return out, nil
}

// VolunteerInScope reports whether volunteer id is registered and in sc:
// the check an API route makes before it reads or changes one volunteer.
func (s *Store) VolunteerInScope(ctx context.Context, id string, sc VolunteerScope) (bool, error) {
	p, err := s.SearchVolunteers(ctx, VolunteerQuery{Scope: sc, Terms: people.Search{ID: id}, Deregistered: true, PageSize: 1})
	if err != nil {
		return false, err
	}
	return len(p.Volunteers) == 1, nil
}

// RegisterVolunteer registers one volunteer checked by
// people.Volunteer.Check, as RegisterVolunteers does for a file, and
// records who did it in the volunteer's history. A refusal is an error
// wrapping its people.Reason (people.Explain): the same person registered
// already (people.ErrDuplicatePerson, naming the ID they hold), the ID
// taken, an unknown community or organisation. Registering the same
// person under the same ID again is also refused as a duplicate: one
// form, one new volunteer.
func (s *Store) RegisterVolunteer(ctx context.Context, v *people.Volunteer, actor string, now time.Time) error {
	if v.IDNumber != "" || v.Sealed.Hash == "" || v.Sealed.Cipher == "" {
		return fmt.Errorf("%w: volunteer %s", ErrClearIDNumber, v.ID)
	}
	var refused error
	err := s.b.inTx(ctx, func(q querier) error {
		res, err := registerVolunteer(ctx, q, v, map[string]bool{}, now)
		switch {
		case err != nil:
			return err
		case res.Outcome == people.Unchanged:
			refused = fmt.Errorf("%w: registered as %s", people.ErrDuplicatePerson, v.ID)
			return nil
		case res.Err != nil:
			refused = res.Err
			return nil
		}
		return addHistory(ctx, q, v.ID, actor, "register", nil, now)
	})
	if err != nil {
		return fmt.Errorf("store: register volunteer %s: %w", v.ID, err)
	}
	return refused
}

// ErrDeregistered is returned for a change to a deregistered volunteer.
var ErrDeregistered = &people.Reason{Code: "deregistered", Zh: "该志愿者已注销，不能再修改", En: "the volunteer is deregistered"}

// EditVolunteer changes the registered volunteer id in one transaction:
// edit (typically people.Volunteer.Apply) changes the volunteer as stored
// and returns the changes, which are written with it to the volunteer's
// history under actor. A new community, organisation or ID number is
// checked as at registration; a refusal wraps its people.Reason. An edit
// that changes nothing writes nothing.
func (s *Store) EditVolunteer(ctx context.Context, id, actor string, now time.Time,
	edit func(v *people.Volunteer) ([]people.FieldChange, error)) ([]people.FieldChange, error) {
	var changes []people.FieldChange
	err := s.b.inTx(ctx, func(q querier) error {
		v, err := loadActive(ctx, q, id)
		if err != nil {
			return err
		}
		oldHash := v.Sealed.Hash
		if changes, err = edit(v); err != nil || len(changes) == 0 {
			return err
		}
		if v.Sealed.Hash != oldHash {
			var other string
			if err := q.query(ctx, `SELECT id FROM volunteers WHERE id_hash = $1 AND id_hash <> ''`, []any{v.Sealed.Hash},
				func(r rows) error { return r.Scan(&other) }); err != nil {
				return err
			}
			if other != "" && other != id {
				return fmt.Errorf("%w: registered as %s", people.ErrDuplicatePerson, other)
			}
		}
		known := map[string]bool{}
		ok, err := exists(ctx, q, known, "a:"+v.Community, `SELECT 1 FROM areas WHERE code = $1 AND level = 'community'`, v.Community)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", people.ErrUnknownCommunity, v.Community)
		}
		for _, o := range v.Orgs {
			if ok, err := exists(ctx, q, known, "o:"+o, `SELECT 1 FROM organisations WHERE id = $1`, o); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: %s", people.ErrUnknownOrg, o)
			}
		}
		skills, _ := json.Marshal(orEmpty(v.Skills))
		types, _ := json.Marshal(orEmpty(v.ServiceTypes))
		if _, err := q.exec(ctx, `UPDATE volunteers SET name = $2, gender = $3, birth_date = $4, id_cipher = $5,
				id_hash = $6, id_masked = $7, community = $8, phone = $9, skills = $10, service_types = $11,
				grp = $12, national_id = $13, guardian_consent = $14, updated_ns = $15
			WHERE id = $1`,
			id, v.Name, string(v.Gender), v.BirthDate.Format(dateLayout), v.Sealed.Cipher, v.Sealed.Hash, v.Sealed.Masked,
			v.Community, v.Phone, string(skills), string(types), string(v.Group), v.NationalID, v.GuardianConsent,
			nanos(now)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM volunteer_orgs WHERE volunteer = $1`, id); err != nil {
			return err
		}
		for _, o := range v.Orgs {
			if _, err := q.exec(ctx, `INSERT INTO volunteer_orgs (volunteer, org) VALUES ($1, $2)`, id, o); err != nil {
				return err
			}
		}
		return addHistory(ctx, q, id, actor, "edit", changes, now)
	})
	if err != nil {
		if people.Explain(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("store: edit volunteer %s: %w", id, err)
	}
	return changes, nil
}

// loadActive loads a registered volunteer who is not deregistered.
func loadActive(ctx context.Context, q querier, id string) (*people.Volunteer, error) {
	v, err := loadVolunteer(ctx, q, id)
	if err == nil && !v.Deregistered.IsZero() {
		err = ErrDeregistered
	}
	return v, err
}

// addHistory appends an action on volunteer to its history: one row per
// change, or one row without a field when there are none.
func addHistory(ctx context.Context, q querier, volunteer, actor, action string, changes []people.FieldChange, now time.Time) error {
	var seq int64
	if err := q.query(ctx, `SELECT COALESCE(MAX(seq), 0) FROM volunteer_history WHERE volunteer = $1`, []any{volunteer},
		func(r rows) error { return r.Scan(&seq) }); err != nil {
		return err
	}
	if len(changes) == 0 {
		changes = []people.FieldChange{{}}
	}
	for _, c := range changes {
		seq++
		if _, err := q.exec(ctx, `INSERT INTO volunteer_history (volunteer, seq, at_ns, actor, action, field,
				shown_before, shown_after, sealed_before, sealed_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			volunteer, seq, nanos(now), actor, action, c.Field, c.Before, c.After, c.SealedBefore, c.SealedAfter); err != nil {
			return err
		}
	}
	return nil
}

// HistoryEntry is one line of a volunteer's history: an action (register,
// edit, deregister) and, for an edit, one field's change with its values
// as a person may see them (personal fields masked).
type HistoryEntry struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	people.FieldChange
}

// VolunteerHistory returns volunteer id's history, oldest first, with the
// sealed values (for whoever holds the key).
func (s *Store) VolunteerHistory(ctx context.Context, id string) ([]HistoryEntry, error) {
	out := []HistoryEntry{}
	err := s.b.query(ctx, `SELECT seq, at_ns, actor, action, field, shown_before, shown_after, sealed_before, sealed_after
		FROM volunteer_history WHERE volunteer = $1 ORDER BY seq`, []any{id}, func(r rows) error {
		var (
			h  HistoryEntry
			at int64
		)
		err := r.Scan(&h.Seq, &at, &h.Actor, &h.Action, &h.Field, &h.Before, &h.After, &h.SealedBefore, &h.SealedAfter)
		h.At = fromNanos(at)
		out = append(out, h)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of volunteer %s: %w", id, err)
	}
	return out, nil
}

// VolunteerData is everything the cloud holds on one volunteer, for the
// export a volunteer asks for (PIPL Art. 45): the registration (ID number
// sealed; the caller opens it), organisations, stations, cards, service
// records and the hours they count, the history, and the orders served
// with the residents' ratings.
type VolunteerData struct {
	Volunteer     *people.Volunteer     `json:"volunteer"`
	Organisations []people.Organisation `json:"organisations"`
	Stations      []string              `json:"stations"`
	Cards         []string              `json:"cards"`
	Hours         *Hours                `json:"hours"`
	Records       []ingest.Entry        `json:"records"`
	History       []HistoryEntry        `json:"history"`
	// Orders are the residents' orders they served, with the rating.
	Orders []ServedOrder `json:"orders"`
}

// VolunteerData gathers what the cloud holds on volunteer id, or
// ErrNotFound.
func (s *Store) VolunteerData(ctx context.Context, id string) (*VolunteerData, error) {
	v, err := s.Volunteer(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &VolunteerData{Volunteer: v, Organisations: []people.Organisation{}, Stations: []string{}, Cards: []string{},
		Records: []ingest.Entry{}}
	for _, o := range v.Orgs {
		org, err := s.Organisation(ctx, o)
		if err != nil {
			return nil, err
		}
		d.Organisations = append(d.Organisations, *org)
	}
	strs := func(query string, dst *[]string) error {
		return s.b.query(ctx, query, []any{id}, func(r rows) error {
			var x string
			err := r.Scan(&x)
			*dst = append(*dst, x)
			return err
		})
	}
	if err := strs(`SELECT station FROM volunteer_stations WHERE volunteer = $1 ORDER BY station`, &d.Stations); err != nil {
		return nil, fmt.Errorf("store: stations of volunteer %s: %w", id, err)
	}
	if err := strs(volunteerCards, &d.Cards); err != nil {
		return nil, fmt.Errorf("store: cards of volunteer %s: %w", id, err)
	}
	if d.Hours, err = s.VolunteerHours(ctx, id); err != nil {
		return nil, err
	}
	err = s.b.query(ctx, `SELECT `+recordCols+` FROM records WHERE volunteer = $1 ORDER BY time_ns, id`, []any{id},
		func(r rows) error {
			e, err := scanEntry(r)
			d.Records = append(d.Records, e)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("store: records of volunteer %s: %w", id, err)
	}
	if d.History, err = s.VolunteerHistory(ctx, id); err != nil {
		return nil, err
	}
	if d.Orders, err = s.VolunteerOrders(ctx, id); err != nil {
		return nil, err
	}
	return d, nil
}

// DeregisterVolunteer deregisters (注销) volunteer id, in one transaction.
//
// Kept, because the 志愿服务条例 (Art. 19) and 民政部令第67号 have
// service records kept (GB/T 40143: at least 10 years) and certificates
// checkable: the volunteer's ID, which the records, sessions and hours
// carry; the name masked (王*明), so a record or certificate still reads
// as someone; the group and registration date, which the plan's yearly
// targets count past hours by; the records themselves, untouched.
//
// Removed, because PIPL Art. 47 asks deletion once the purpose is gone:
// the ID number's seal and mask, gender, birth date, community, phone,
// skills, service types, national volunteer number, guardian consent,
// organisations and station lists, and every personal value in the
// history (the lines stay, saying who changed which field when).
//
// The ID number's keyed hash is removed too. Keeping it would only serve
// to refuse or recognise the person registering again, and neither law
// asks that: a deregistered person may register again, as a new
// volunteer, and the hash, which with the key identifies them, is
// personal information with no purpose left.
//
// The database's own copies of the removed values (old row versions,
// free pages, the write-ahead log) go at Purge.
func (s *Store) DeregisterVolunteer(ctx context.Context, id, actor, reason string, now time.Time) error {
	err := s.b.inTx(ctx, func(q querier) error {
		v, err := loadActive(ctx, q, id)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE volunteers SET name = $2, gender = '', birth_date = '', id_cipher = '',
				id_hash = '', id_masked = '', community = '', phone = '', skills = '[]', service_types = '[]',
				national_id = '', guardian_consent = FALSE, deregistered_ns = $3, deregister_reason = $4, updated_ns = $3
			WHERE id = $1`, id, v.MaskedName(), nanos(now), reason); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM volunteer_orgs WHERE volunteer = $1`,
			`DELETE FROM volunteer_stations WHERE volunteer = $1`,
			`UPDATE volunteer_history SET shown_before = '', shown_after = '', sealed_before = '', sealed_after = ''
				WHERE volunteer = $1`,
		} {
			if _, err := q.exec(ctx, stmt, id); err != nil {
				return err
			}
		}
		return addHistory(ctx, q, id, actor, "deregister", nil, now)
	})
	if err != nil {
		if people.Explain(err) != nil {
			return err
		}
		return fmt.Errorf("store: deregister volunteer %s: %w", id, err)
	}
	return nil
}

// Purge makes values the store removed (by DeregisterVolunteer, by an
// edit) leave the database's files, not only its tables: SQLite overwrites
// deleted content as it goes (secure_delete) and Purge truncates the
// write-ahead log; PostgreSQL keeps an updated row's old version in the
// table's pages until they are rewritten, which VACUUM FULL does for the
// volunteers' tables (plain VACUUM frees the space but leaves the bytes:
// TestVolunteerOperations finds them). It holds an exclusive lock on them
// meanwhile: 4.7 s at 500,000 volunteers on the 2-core test machine
// (BenchmarkSearchVolunteers/deregister-and-purge). PostgreSQL's own
// write-ahead log, its archive and backups keep the values until they are
// recycled: that is for the operator's retention settings.
func (s *Store) Purge(ctx context.Context) error {
	stmts := []string{`PRAGMA wal_checkpoint(TRUNCATE)`}
	if s.b.dialect() == "postgres" {
		stmts = []string{`VACUUM FULL volunteers, volunteer_history, volunteer_orgs, volunteer_stations`}
	}
	for _, st := range stmts {
		if err := s.b.query(ctx, st, nil, func(rows) error { return nil }); err != nil {
			return fmt.Errorf("store: purge: %w", err)
		}
	}
	return nil
}
