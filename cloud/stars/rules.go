// Package stars is the star rating (星级认定) of volunteers and
// organisations (issue 12 point 6; the plan's item 5 "志愿者星级认定和激励
// 回馈" and item 12 for organisations): configurable thresholds, a
// minimum tenure per level, the level that approves each star, and a
// public notice (公示) in working days before the award.
//
// A volunteer's hours are the counted hours of their final service
// records, both ledgers (card and manual, and imported history). Stars
// are climbed one at a time: the star a volunteer may apply for is the
// one above the highest awarded.
package stars

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Levels is the number of star levels.
const Levels = 5

// Approver levels a star may need.
const (
	ApproveCounty = "county"
	ApproveCity   = "city"
)

// Where a volunteer's tenure for a star is counted from.
const (
	FromRegistration = "registration"
	FromPrevious     = "previous" // the previous star's award (registration for the first)
)

// Rules are the star rules, a city setting (JSON).
type Rules struct {
	// Hours are the counted hours each star needs, 1★ to 5★.
	Hours []float64 `json:"hours"`
	// Annual counts only the current year's hours (China Standard Time)
	// against Hours, as some cities do; otherwise all hours.
	Annual bool `json:"annual"`
	// TenureMonths is the minimum months, per star, since TenureFrom.
	TenureMonths []int  `json:"tenure_months"`
	TenureFrom   string `json:"tenure_from"`
	// Approvers name the level that approves each star: county (the
	// county of the volunteer's community) or city.
	Approvers []string `json:"approvers"`
	// NoticeDays is the public notice before the award, in working days.
	NoticeDays int `json:"notice_days"`
	// Org are the organisations' star rules.
	Org OrgRules `json:"org"`
}

// OrgRules are the criteria of an organisation's stars, per level.
type OrgRules struct {
	Levels    []OrgLevel `json:"levels"`
	Approvers []string   `json:"approvers"`
}

// OrgLevel is what an organisation needs for one star: registered
// volunteers among its members, counted hours of its final records,
// months of the last twelve in which it served its linked community
// (the plan: at least one visit a month), and the residents' mean rating
// of the orders it served (0: not needed).
type OrgLevel struct {
	Members     int     `json:"members"`
	Hours       float64 `json:"hours"`
	VisitMonths int     `json:"visit_months"`
	MinRating   float64 `json:"min_rating"`
}

// Default is the national ladder (100/300/600/1000/1500 hours), all
// hours counted, a tenure of 0, 6, 12, 12 and 12 months since the
// previous star (registration for the first), county approval for 1–2★
// and city approval for 3–5★, five working days of notice; and for
// organisations a ladder of members, hours, monthly visits and rating.
func Default() Rules {
	return Rules{
		Hours:        []float64{100, 300, 600, 1000, 1500},
		TenureMonths: []int{0, 6, 12, 12, 12},
		TenureFrom:   FromPrevious,
		Approvers:    []string{ApproveCounty, ApproveCounty, ApproveCity, ApproveCity, ApproveCity},
		NoticeDays:   5,
		Org: OrgRules{
			Levels: []OrgLevel{
				{Members: 10, Hours: 500, VisitMonths: 3},
				{Members: 20, Hours: 1500, VisitMonths: 6, MinRating: 4},
				{Members: 30, Hours: 3000, VisitMonths: 9, MinRating: 4.2},
				{Members: 50, Hours: 6000, VisitMonths: 12, MinRating: 4.5},
				{Members: 100, Hours: 10000, VisitMonths: 12, MinRating: 4.6},
			},
			Approvers: []string{ApproveCounty, ApproveCounty, ApproveCity, ApproveCity, ApproveCity},
		},
	}
}

// RuleError is a refused rule, in Chinese for the city administrator.
type RuleError struct{ Zh string }

func (e *RuleError) Error() string { return "stars: " + e.Zh }

// Parse reads rules from JSON and checks them.
func Parse(data []byte) (Rules, error) {
	var r Rules
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, &RuleError{"星级规则格式不对：" + err.Error() + "。请对照当前规则修改后再提交。"}
	}
	return r, r.Check()
}

// Check reports the first thing wrong with r, in Chinese.
func (r Rules) Check() error {
	bad := func(f string, a ...any) error { return &RuleError{fmt.Sprintf(f, a...)} }
	if len(r.Hours) != Levels || len(r.TenureMonths) != Levels || len(r.Approvers) != Levels {
		return bad("一星到五星各需一个时长门槛、任职月数和审批层级（各 %d 个）", Levels)
	}
	for i, h := range r.Hours {
		if h <= 0 || (i > 0 && h <= r.Hours[i-1]) {
			return bad("%s的时长门槛 %g 小时不对：门槛应大于 0 且逐级增加", Name(i+1), h)
		}
		if r.TenureMonths[i] < 0 || r.TenureMonths[i] > 120 {
			return bad("%s的最短月数 %d 不对：应在 0 到 120 之间", Name(i+1), r.TenureMonths[i])
		}
	}
	if r.TenureFrom != FromRegistration && r.TenureFrom != FromPrevious {
		return bad("任职月数从何时算起应为 registration（注册）或 previous（上一星级认定）")
	}
	if err := checkApprovers(r.Approvers, ""); err != nil {
		return err
	}
	if r.NoticeDays < 0 || r.NoticeDays > 30 {
		return bad("公示期 %d 个工作日不对：应在 0 到 30 之间", r.NoticeDays)
	}
	if len(r.Org.Levels) != Levels {
		return bad("组织星级需一星到五星各一组条件（%d 组）", Levels)
	}
	for i, l := range r.Org.Levels {
		if l.Members < 0 || l.Hours < 0 || l.VisitMonths < 0 || l.VisitMonths > 12 || l.MinRating < 0 || l.MinRating > 5 {
			return bad("组织%s的条件不对：人数、时长不能为负，走访月数在 0 到 12 之间，评分在 0 到 5 之间", Name(i+1))
		}
	}
	return checkApprovers(r.Org.Approvers, "组织")
}

func checkApprovers(as []string, who string) error {
	if len(as) != Levels {
		return &RuleError{fmt.Sprintf("%s一星到五星各需一个审批层级", who)}
	}
	for i, a := range as {
		if a != ApproveCounty && a != ApproveCity {
			return &RuleError{fmt.Sprintf("%s%s的审批层级“%s”不对：应为 county（县级）或 city（市级）", who, Name(i+1), a)}
		}
	}
	return nil
}

// Name is a level's Chinese name: 1 → 一星.
func Name(level int) string {
	if level < 1 || level > Levels {
		return "无星级"
	}
	return [...]string{"一星", "二星", "三星", "四星", "五星"}[level-1]
}

// hoursFrom is the first day whose records count at now ("" all).
func (r Rules) hoursFrom(now time.Time) string {
	if !r.Annual {
		return ""
	}
	return fmt.Sprintf("%d-01-01", now.In(cst).Year())
}

var cst = time.FixedZone("CST", 8*3600)
