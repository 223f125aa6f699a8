// Package targetstest is a small city whose figures are worked out by
// hand (cloud/targets' TestFixtureFigures writes the answers), for the
// targets API's test and the dashboard's browser test.
//
// The city 普洱市 (530800, population 100) has two counties: 思茅区
// (530802, population 75) with the townships 思茅街道 (530802001:
// communities A 南屏社区 530802001001, population 46, and B 530802001002,
// population 50) and 倚象镇 (530802002: community C 530802002001,
// population 40); and 宁洱县 (530821, population 500) with 宁洱镇
// (530821001: community D 530821001001, population 60). The clock is
// Now: 20 November 2026, so 2026 is the current year.
//
// Volunteers (home community, registered on, group):
//
//	VA1 A 2025-03-01        final 30 h (Mar 2026), 25 h (Jun 2026)
//	VA2 A 2026-02-10        final 10 h (Feb 2026)
//	VA3 A 2024-05-01        final 5 h (Dec 2025) only
//	VA4 A 2025-09-05 college final 60 h (Oct 2025), 50 h (Mar 2026)
//	VA5 A 2025-01-01 college final 40 h (May 2026); 30 h (Feb 2026) still in review
//	VA6 A 2025-06-01        final 8 h (Jul 2025), 20 h (Apr 2026); deregistered 15 Oct 2026
//	VA8 A 2026-01-05        12 h (Jul 2026): final, then corrected to rejected
//	VB1 B 2026-04-01        100 h (Aug 2026): review → notice → final
//	VB2 B 2024-09-01 college final 100 h (Jul 2026), 5 h (Sep 2026)
//	VB3 B 2026-01-01        none
//	VC1 C 2025-01-01        final 4 h (Jan 2026); moved to D on 1 Nov 2026
//	VC2 C 2025-02-01        none
//	VD1 D 2025-05-01        final 20 h and 1.5 h (Feb 2026)
//	VX  (on a kiosk roster, never registered): the organisations' visits below
//	VR  B 2026-03-01        6 h (Mar 2026): review, then rejected
//
// Organisations (county, linked community) and their final records in
// 2026 (all VX's, 1 h each):
//
//	O1 530802 A   in A every month January to November
//	O2 530802 B   in B January to October (March's record has no community:
//	              its station ST-B is in B), none in November
//	O3 530821 D   in D every month but June, when it served in A
//	O4 530821 —   none (linked to no community)
//	O5 —      C   none (no county)
package targetstest

import (
	"context"
	"fmt"
	"time"

	"leifeng/cloud/people"
	"leifeng/cloud/store"
)

// CST is China Standard Time.
var CST = time.FixedZone("CST", 8*3600)

// Now is the fixture's clock: 20 November 2026, 10:00 China Standard Time.
var Now = time.Date(2026, 11, 20, 10, 0, 0, 0, CST)

// The areas the answers are written for.
const (
	City       = "530800"
	County     = "530802"
	Township   = "530802001"
	Community  = "530802001001" // A
	CommunityB = "530802001002"
	CommunityC = "530802002001"
	County2    = "530821"
	CommunityD = "530821001001"
	Year       = 2026
)

func day(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, CST)
	if err != nil {
		panic(err)
	}
	return t
}

// Load fills s (a new, empty database) with the fixture.
func Load(ctx context.Context, s *store.Store) error {
	areas := []people.Area{
		{Code: City, Name: "普洱市", Level: people.LevelCity, Population: 100},
		{Code: County, Name: "思茅区", Parent: City, Level: people.LevelCounty, Population: 75},
		{Code: Township, Name: "思茅街道", Parent: County, Level: people.LevelTownship, Population: 96},
		{Code: Community, Name: "南屏社区", Parent: Township, Level: people.LevelCommunity, Population: 46},
		{Code: CommunityB, Name: "振兴社区", Parent: Township, Level: people.LevelCommunity, Population: 50},
		{Code: "530802002", Name: "倚象镇", Parent: County, Level: people.LevelTownship, Population: 40},
		{Code: CommunityC, Name: "大寨村", Parent: "530802002", Level: people.LevelCommunity, Population: 40},
		{Code: County2, Name: "宁洱县", Parent: City, Level: people.LevelCounty, Population: 500},
		{Code: "530821001", Name: "宁洱镇", Parent: County2, Level: people.LevelTownship, Population: 500},
		{Code: CommunityD, Name: "东城社区", Parent: "530821001", Level: people.LevelCommunity, Population: 60},
	}
	if err := check(s.SaveAreas(ctx, areas, Now)); err != nil {
		return err
	}
	orgs := []people.Organisation{
		{ID: "O1", Name: "南屏志愿服务队", County: County, Community: Community},
		{ID: "O2", Name: "振兴志愿服务队", County: County, Community: CommunityB},
		{ID: "O3", Name: "东城志愿服务队", County: County2, Community: CommunityD},
		{ID: "O4", Name: "宁洱县志愿者协会", County: County2},
		{ID: "O5", Name: "大寨村互助队", Community: CommunityC},
	}
	if err := check(s.SaveOrganisations(ctx, orgs, Now)); err != nil {
		return err
	}
	if err := s.AddStation(ctx, store.Registration{ID: "pe-st-b", Name: "振兴社区站", County: County, Community: CommunityB,
		SecretHash: "x", Created: Now}); err != nil {
		return err
	}
	type vol struct {
		id, community, registered string
		group                     people.Group
	}
	vols := []vol{
		{"VA1", Community, "2025-03-01", people.GroupOther}, {"VA2", Community, "2026-02-10", people.GroupOther},
		{"VA3", Community, "2024-05-01", people.GroupOther}, {"VA4", Community, "2025-09-05", people.GroupCollegeStudent},
		{"VA5", Community, "2025-01-01", people.GroupCollegeStudent}, {"VA6", Community, "2025-06-01", people.GroupOther},
		{"VA8", Community, "2026-01-05", people.GroupOther},
		{"VB1", CommunityB, "2026-04-01", people.GroupOther}, {"VB2", CommunityB, "2024-09-01", people.GroupCollegeStudent},
		{"VB3", CommunityB, "2026-01-01", people.GroupOther}, {"VR", CommunityB, "2026-03-01", people.GroupOther},
		{"VC1", CommunityC, "2025-01-01", people.GroupOther}, {"VC2", CommunityC, "2025-02-01", people.GroupOther},
		{"VD1", CommunityD, "2025-05-01", people.GroupOther},
	}
	var vs []people.Volunteer
	for _, v := range vols {
		vs = append(vs, people.Volunteer{ID: v.id, Name: "志愿者" + v.id, Gender: people.Female,
			BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
			Sealed:    people.Sealed{Cipher: "fixture", Hash: "fixture-" + v.id, Masked: "5308**********0000"},
			Community: v.community, Group: v.group, RegisteredOn: day(v.registered)})
	}
	// Registered as of the day the fixture was made; registered_on dates them.
	if err := check(s.RegisterVolunteers(ctx, vs, day("2026-11-01"))); err != nil {
		return err
	}
	// VX is on a kiosk roster only.
	if err := s.SaveVolunteers(ctx, "pe-st-b", []store.RosterEntry{{ID: "VX", Name: "某某"}}, Now); err != nil {
		return err
	}

	n := 0
	rec := func(vol, org, community, station, d string, hours float64, status string) store.ServiceRecord {
		n++
		start := day(d).Add(9 * time.Hour)
		cents := int64(hours*100 + 0.5)
		return store.ServiceRecord{ID: fmt.Sprintf("imp:F%03d", n), Ledger: store.LedgerImported, Volunteer: vol, Org: org,
			OrgName: org, Community: community, Station: station, ActivityName: "社区服务", Content: "服务", Day: d,
			Start: start, End: start.Add(time.Duration(cents) * 36 * time.Second), RawSeconds: cents * 36,
			CountedCents: cents, Status: status, Reasons: []string{}}
	}
	final := store.StatusFinal
	recs := []store.ServiceRecord{
		rec("VA1", "", Community, "", "2026-03-05", 30, final),
		rec("VA1", "", Community, "", "2026-06-05", 25, final),
		rec("VA2", "", Community, "", "2026-02-15", 10, final),
		rec("VA3", "", Community, "", "2025-12-20", 5, final),
		rec("VA4", "", Community, "", "2025-10-10", 60, final),
		rec("VA4", "", Community, "", "2026-03-10", 50, final),
		rec("VA5", "", Community, "", "2026-05-10", 40, final),
		rec("VA6", "", Community, "", "2025-07-10", 8, final),
		rec("VA6", "", Community, "", "2026-04-10", 20, final),
		rec("VB2", "", CommunityB, "", "2026-07-10", 100, final),
		rec("VB2", "", CommunityB, "", "2026-09-10", 5, final),
		rec("VC1", "", CommunityC, "", "2026-01-10", 4, final),
		rec("VD1", "", CommunityD, "", "2026-02-10", 20, final),
		rec("VD1", "", CommunityD, "", "2026-02-11", 1.5, final),
	}
	for m := 1; m <= 11; m++ {
		recs = append(recs, rec("VX", "O1", Community, "", fmt.Sprintf("2026-%02d-03", m), 1, final))
		if m <= 10 {
			c := CommunityB
			if m == 3 {
				c = ""
			}
			recs = append(recs, rec("VX", "O2", c, "pe-st-b", fmt.Sprintf("2026-%02d-04", m), 1, final))
		}
		c := CommunityD
		if m == 6 {
			c = Community
		}
		recs = append(recs, rec("VX", "O3", c, "", fmt.Sprintf("2026-%02d-05", m), 1, final))
	}
	review := func(r store.ServiceRecord) store.ServiceRecord {
		r.ID, r.Ledger, r.Status, r.Reviewer, r.Reasons = "man:"+r.ID[4:], store.LedgerManual, store.StatusReview, "county", []string{"manual"}
		return r
	}
	va5 := review(rec("VA5", "", Community, "", "2026-02-20", 30, final))
	vb1 := review(rec("VB1", "", CommunityB, "", "2026-08-10", 100, final))
	vr := review(rec("VR", "", CommunityB, "", "2026-03-10", 6, final))
	va8 := rec("VA8", "", Community, "", "2026-07-10", 12, final)
	recs = append(recs, va5, vb1, vr, va8)
	if _, err := s.PutServiceRecords(ctx, recs, "fixture", day("2026-11-01")); err != nil {
		return err
	}
	steps := []struct{ id, to string }{
		{vb1.ID, store.StatusNotice}, {vb1.ID, store.StatusFinal},
		{vr.ID, store.StatusRejected},
		{va8.ID, store.StatusRejected},
	}
	for _, st := range steps {
		if _, err := s.ChangeServiceRecord(ctx, st.id, day("2026-11-05"), func(r *store.ServiceRecord) (store.ServiceRecordEvent, error) {
			r.Status = st.to
			return store.ServiceRecordEvent{Who: "fixture", Action: "decide", Reason: "fixture"}, nil
		}); err != nil {
			return err
		}
	}
	// VC1 moves to D; VA6 is deregistered.
	if _, err := s.EditVolunteer(ctx, "VC1", "fixture", day("2026-11-01"), func(v *people.Volunteer) ([]people.FieldChange, error) {
		v.Community = CommunityD
		return []people.FieldChange{{Field: "community", Before: CommunityC, After: CommunityD}}, nil
	}); err != nil {
		return err
	}
	return s.DeregisterVolunteer(ctx, "VA6", "fixture", "本人申请", day("2026-10-15"))
}

func check(res []people.Result, err error) error {
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err != nil {
			return fmt.Errorf("targetstest: row %d: %w", i, r.Err)
		}
	}
	return nil
}
