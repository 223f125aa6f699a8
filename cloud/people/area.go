package people

import (
	"strings"
)

// Level is an area's place in the city's tree.
type Level string

// The four levels, from the top.
const (
	LevelCity      Level = "city"      // 市
	LevelCounty    Level = "county"    // 县（区）
	LevelTownship  Level = "township"  // 乡镇（街道）
	LevelCommunity Level = "community" // 社区（村）
)

// levels maps what a file may say to a Level.
var levels = map[string]Level{
	"city": LevelCity, "市": LevelCity,
	"county": LevelCounty, "district": LevelCounty, "县": LevelCounty, "区": LevelCounty, "县区": LevelCounty,
	"县（区）": LevelCounty, "县(区)": LevelCounty,
	"township": LevelTownship, "town": LevelTownship, "street": LevelTownship, "乡镇": LevelTownship, "乡": LevelTownship,
	"镇": LevelTownship, "街道": LevelTownship, "乡镇（街道）": LevelTownship, "乡镇(街道)": LevelTownship, "乡镇街道": LevelTownship,
	"community": LevelCommunity, "village": LevelCommunity, "社区": LevelCommunity, "村": LevelCommunity,
	"社区（村）": LevelCommunity, "社区(村)": LevelCommunity, "社区村": LevelCommunity,
}

// ParseLevel reads a level in English or Chinese.
func ParseLevel(s string) (Level, error) {
	if l, ok := levels[strings.ToLower(strings.TrimSpace(s))]; ok {
		return l, nil
	}
	return "", refuse(ErrBadLevel, "%q", s)
}

// Parent is the level directly above l ("" for the city).
func (l Level) Parent() Level {
	switch l {
	case LevelCounty:
		return LevelCity
	case LevelTownship:
		return LevelCounty
	case LevelCommunity:
		return LevelTownship
	}
	return ""
}

// Zh is the level's Chinese name.
func (l Level) Zh() string {
	switch l {
	case LevelCity:
		return "市"
	case LevelCounty:
		return "县（区）"
	case LevelTownship:
		return "乡镇（街道）"
	case LevelCommunity:
		return "社区（村）"
	}
	return string(l)
}

// Area is one node of the city's tree. Code is the area's own code (the
// statistics office's 区划代码 is a good choice); Parent is the code of the
// area one level up, empty only for the city.
type Area struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Parent     string `json:"parent,omitempty"`
	Level      Level  `json:"level"`
	Population int64  `json:"population"`
}

// Validate checks what can be checked without the rest of the tree; the
// store checks that the parent exists one level up.
func (a *Area) Validate() error {
	a.Code, a.Name, a.Parent = strings.TrimSpace(a.Code), strings.TrimSpace(a.Name), strings.TrimSpace(a.Parent)
	switch {
	case a.Code == "":
		return ErrMissingID
	case a.Name == "":
		return ErrMissingName
	case a.Population < 0:
		return ErrBadPopulation
	case a.Parent == a.Code:
		return ErrSelfParent
	}
	l, err := ParseLevel(string(a.Level))
	if err != nil {
		return err
	}
	a.Level = l
	if a.Level != LevelCity && a.Parent == "" {
		return refuse(ErrBadParent, "a %s needs a parent", a.Level)
	}
	if a.Level == LevelCity && a.Parent != "" {
		return refuse(ErrBadParent, "the city has no parent")
	}
	return nil
}

// Organisation is a volunteer organisation or team (志愿服务组织/队): County
// is a county-level area code, Community the community it is linked to
// (结对社区), Parent another organisation's ID; the last three may be empty.
type Organisation struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Type      string `json:"type,omitempty"`
	County    string `json:"county,omitempty"`
	Community string `json:"community,omitempty"`
	Parent    string `json:"parent,omitempty"`
}

// Validate checks what can be checked without the stored areas and
// organisations.
func (o *Organisation) Validate() error {
	o.ID, o.Name, o.Type = strings.TrimSpace(o.ID), strings.TrimSpace(o.Name), strings.TrimSpace(o.Type)
	o.County, o.Community, o.Parent = strings.TrimSpace(o.County), strings.TrimSpace(o.Community), strings.TrimSpace(o.Parent)
	switch {
	case o.ID == "":
		return ErrMissingID
	case o.Name == "":
		return ErrMissingName
	case o.Parent == o.ID:
		return ErrSelfParent
	}
	return nil
}

// DefaultLeadingOffice is the name of the office that leads the city's
// volunteer work until an administrator sets the city's own: the plan
// names the 文明办, and since 2024 it is often the 党委社会工作部, so the
// default names neither.
const DefaultLeadingOffice = "志愿服务主管部门"

// AreaPatch is an edit of an area: each field that is not nil is set.
// The code is the area's identity (stations, volunteers and areas below
// refer to it) and does not change.
type AreaPatch struct {
	Name       *string `json:"name,omitempty"`
	Parent     *string `json:"parent,omitempty"`
	Level      *string `json:"level,omitempty"`
	Population *int64  `json:"population,omitempty"`
}

// Apply returns a with p's fields set, the level read in English or
// Chinese; the store checks the result as it checks an import's row.
func (a Area) Apply(p AreaPatch) (Area, error) {
	if p.Name != nil {
		a.Name = *p.Name
	}
	if p.Parent != nil {
		a.Parent = *p.Parent
	}
	if p.Level != nil {
		l, err := ParseLevel(*p.Level)
		if err != nil {
			return a, err
		}
		a.Level = l
	}
	if p.Population != nil {
		a.Population = *p.Population
	}
	return a, a.Validate()
}

// OrgPatch is an edit of an organisation: each field that is not nil is
// set ("" clears the county, the community or the parent). The ID does
// not change.
type OrgPatch struct {
	Name      *string `json:"name,omitempty"`
	Type      *string `json:"type,omitempty"`
	County    *string `json:"county,omitempty"`
	Community *string `json:"community,omitempty"`
	Parent    *string `json:"parent,omitempty"`
}

// Apply returns o with p's fields set; the store checks the result as it
// checks an import's row.
func (o Organisation) Apply(p OrgPatch) (Organisation, error) {
	for _, f := range []struct{ to, from *string }{
		{&o.Name, p.Name}, {&o.Type, p.Type}, {&o.County, p.County}, {&o.Community, p.Community}, {&o.Parent, p.Parent},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return o, o.Validate()
}
