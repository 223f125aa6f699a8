package people_test

import (
	"testing"
	"time"

	"leifeng/cloud/people"
)

// What a search box's text is read as: an ID number only ever as its
// keyed hash.
func TestParseSearch(t *testing.T) {
	vault, _ := people.NewVault(make([]byte, 32))
	id := "11010519491231002X"
	for text, want := range map[string]people.Search{
		"":                   {},
		" 王小 ":               {NamePrefix: "王小"},
		"11010519491231002x": {IDHash: vault.Hash(people.IDNumber(id))},
		"+86 139 8791 2345":  {Phone: "13987912345", Card: "+86 139 8791 2345", ID: "+86 139 8791 2345"},
		"C2026-000123":       {Card: "C2026-000123", ID: "C2026-000123", NamePrefix: "C2026-000123"},
	} {
		if got := people.ParseSearch(text, vault); got != want {
			t.Errorf("ParseSearch(%q) = %+v, want %+v", text, got, want)
		}
	}
}

// An edit is checked as a registration is; the personal fields' history
// is masked and sealed, the others plain.
func TestApply(t *testing.T) {
	vault, _ := people.NewVault(make([]byte, 32))
	today := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	v := people.Volunteer{ID: "V1", Name: "孙小小", IDNumber: idFor("20120101", "001"),
		Community: "530802001001", Phone: "13987912345", Group: people.GroupSchoolStudent, GuardianConsent: true}
	if err := v.Check(vault, today); err != nil {
		t.Fatal(err)
	}
	no, bad, same := false, "12345", "孙小小"
	for _, c := range []struct {
		p    people.Patch
		want *people.Reason
	}{
		{people.Patch{GuardianConsent: &no}, people.ErrNoConsent},
		{people.Patch{Phone: &bad}, people.ErrBadPhone},
		{people.Patch{IDNumber: &bad}, people.ErrBadIDNumber},
	} {
		before := v
		if _, err := v.Apply(c.p, vault, today); people.Explain(err) != c.want {
			t.Errorf("Apply(%+v) = %v, want %v", c.p, err, c.want)
		}
		if v.Phone != before.Phone || v.GuardianConsent != before.GuardianConsent {
			t.Errorf("a refused edit changed the volunteer: %+v", v)
		}
	}
	if ch, err := v.Apply(people.Patch{Name: &same}, vault, today); err != nil || len(ch) != 0 {
		t.Errorf("an edit that changes nothing: %+v, %v", ch, err)
	}
	phone, group := "0879-2123456", "大学生"
	ch, err := v.Apply(people.Patch{Phone: &phone, Group: &group}, vault, today)
	if err != nil || len(ch) != 2 {
		t.Fatalf("Apply = %+v, %v", ch, err)
	}
	if ch[0].Field != "phone" || ch[0].Before != "139****2345" || ch[0].After != "087*****3456" || ch[0].SealedAfter == "" {
		t.Errorf("phone change %+v", ch[0])
	}
	if got, _ := vault.OpenText("V1", "history:phone", ch[0].SealedAfter); got != phone {
		t.Errorf("sealed phone opens to %q", got)
	}
	if ch[1].Field != "group" || ch[1].Before != "school_student" || ch[1].After != "college_student" || ch[1].SealedAfter != "" {
		t.Errorf("group change %+v", ch[1])
	}
	if _, err := vault.OpenText("V2", "history:phone", ch[0].SealedAfter); err == nil {
		t.Error("a sealed value opened for another volunteer")
	}
}
