package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"leifeng/cloud/calendar"
	"leifeng/cloud/people"
	"leifeng/cloud/targets"
)

// The city's targets (目标看板, issue 14): for an area and a year, each
// figure of cloud/targets against its target with its status in colour
// and in words, the definitions as the issue writes them, the areas
// directly below ranked by a chosen figure, the months' trend drawn with
// Apache ECharts (vendored, static/echarts-*.min.js, started by
// static/targets.js from the data in the page), and links to the
// exports. Everything is readable without the script; the charts need it.

func (c *Console) targetRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"targets", c.page("targets", c.targetsPage))
}

// figureInfo is how the page names and explains a figure.
type figureInfo struct {
	Name, Definition string
	// Share: a fraction shown as a percentage; else Unit follows the number.
	Share bool
	Unit  string
}

var figureInfos = map[string]figureInfo{
	targets.RegisteredShare: {"注册志愿者占人口比例",
		"年末（本年为今天）在本区域注册、未注销的志愿者人数 ÷ 本区域人口。默认目标：市20%，县（区）15%，社区13%。", true, ""},
	targets.ActiveShare: {"活跃志愿者比例",
		"本区域注册志愿者中，本年至少有一条已生效服务记录的人数 ÷ 本区域注册志愿者人数。默认目标75%。", true, ""},
	targets.HoursPerVolunteer: {"人均服务时长",
		"本区域注册志愿者本年的计入时长 ÷ 本区域注册志愿者人数。默认目标50小时。", false, "小时"},
	targets.OrgMonthlyVisits: {"组织每月进结对社区服务比例",
		"结对社区在本区域的志愿服务组织中，本年截至本月每个月都在结对社区（服务记录所在社区，或其站点所在社区）有至少一条已生效服务记录的组织数 ÷ 结对社区在本区域的组织数。默认目标100%。", true, ""},
	targets.CollegeStudentHours: {"大学生志愿者年服务满100小时比例",
		"学年（上一年9月1日至本年8月31日）末在本区域注册的大学生志愿者中，学年内计入时长满100小时的人数 ÷ 这些大学生志愿者人数。默认目标100%。", true, ""},
	targets.Organisations: {"志愿服务组织数",
		"所属县（区）在本区域的志愿服务组织数（计数，无分母）。全市目标5000个；县（区）及以下默认不设目标，不标状态。", false, "个"},
}

// statusZh is a status in words; the page also colours it.
var statusZh = map[string]string{targets.Met: "达标", targets.AtRisk: "有风险", targets.Missed: "未达标"}

// figureView is one figure as the page shows it.
type figureView struct {
	Key string
	figureInfo
	Raw                                   float64
	Value, Target, Numerator, Denominator string
	// Status is met, at_risk, missed or "" (no target); StatusZh in words.
	Status, StatusZh string
}

func viewFigure(key string, f targets.Figure) figureView {
	info := figureInfos[key]
	v := figureView{Key: key, figureInfo: info, Raw: f.Value, Value: info.format(f.Value), StatusZh: "无目标"}
	if f.Target != nil {
		v.Target = info.format(*f.Target)
	}
	if f.Status != nil {
		v.Status, v.StatusZh = *f.Status, statusZh[*f.Status]
	}
	v.Numerator = number(f.Numerator)
	if f.Denominator != nil {
		v.Denominator = number(*f.Denominator)
	}
	return v
}

// format writes a figure's value: shares as a percentage with one
// decimal, others with up to two.
func (i figureInfo) format(x float64) string {
	if i.Share {
		return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
	}
	return number(x) + i.Unit
}

// number writes x with up to two decimals, no trailing zeros.
func number(x float64) string {
	s := strconv.FormatFloat(x, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// rankRow is one area below, ranked.
type rankRow struct {
	Rank         int
	Code, Name   string
	Level, Href  string
	Figures      []figureView
	RankedFigure figureView
}

// areaChoice is one entry of the area picker.
type areaChoice struct {
	Code, Label string
	Selected    bool
}

// exportLink is one link to an export.
type exportLink struct{ ID, Label, Href string }

type targetsData struct {
	Area     people.Area
	Path     []people.Area
	Year     int
	Years    []int
	Areas    []areaChoice
	Figures  []figureView
	Rank     string
	RankName string
	RankKeys []figureView
	Children []rankRow
	Trend    string
	Exports  []exportLink
	From, To string
}

func (c *Console) targetsPage(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	sc, err := c.scopeOf(ctx, user(r))
	if err != nil {
		c.fault(w, r, "targets: scope", err)
		return
	}
	all, err := c.Store.AllAreas(ctx)
	if err != nil {
		c.fault(w, r, "targets: areas", err)
		return
	}
	byCode := map[string]people.Area{}
	var visible []people.Area
	for _, a := range all {
		byCode[a.Code] = a
		if sc.Area(a.Code) {
			visible = append(visible, a)
		}
	}
	code := q.Get("area")
	if code == "" {
		// The highest area the user sees whole.
		for _, a := range visible {
			if a.Parent == "" || !sc.Area(a.Parent) {
				code = a.Code
				break
			}
		}
	}
	area, ok := byCode[code]
	if !ok || !sc.Area(code) {
		c.notFound(w, r)
		return
	}
	now := c.now()
	thisYear := now.In(calendar.CST).Year()
	year := thisYear
	if y := q.Get("year"); y != "" {
		if year, err = strconv.Atoi(y); err != nil || year < targets.FirstYear || year > thisYear {
			c.failPage(w, r, http.StatusBadRequest, fmt.Sprintf("年份应在%d年到%d年之间，请重新选择。", targets.FirstYear, thisYear))
			return
		}
	}
	rank := q.Get("rank")
	if _, ok := figureInfos[rank]; !ok {
		rank = targets.RegisteredShare
	}
	svc := &targets.Service{Store: c.Store, Now: c.Now}
	rep, err := svc.Figures(ctx, code, year)
	if err == nil {
		var kids []targets.Child
		if kids, err = svc.Children(ctx, code, year); err == nil {
			var trend *targets.Trend
			if trend, err = svc.Trend(ctx, code, year); err == nil {
				c.renderTargets(w, r, sc.Area, visible, byCode, area, year, thisYear, rank, rep, kids, trend)
				return
			}
		}
	}
	if errors.Is(err, targets.ErrUnknownArea) {
		c.notFound(w, r)
		return
	}
	c.fault(w, r, "targets", err)
}

func (c *Console) renderTargets(w http.ResponseWriter, r *http.Request, inScope func(string) bool, visible []people.Area,
	byCode map[string]people.Area, area people.Area, year, thisYear int, rank string,
	rep *targets.Report, kids []targets.Child, trend *targets.Trend) {
	d := targetsData{Area: area, Year: year, Rank: rank, RankName: figureInfos[rank].Name}
	for p := area; ; {
		d.Path = append([]people.Area{p}, d.Path...)
		parent, ok := byCode[p.Parent]
		if !ok || !inScope(parent.Code) {
			break
		}
		p = parent
	}
	for y := thisYear; y >= max(targets.FirstYear, thisYear-9); y-- {
		d.Years = append(d.Years, y)
	}
	if !slices.Contains(d.Years, year) {
		d.Years = append(d.Years, year)
	}
	for _, a := range visible {
		indent := strings.Repeat("　", depth(byCode, a.Code))
		d.Areas = append(d.Areas, areaChoice{Code: a.Code, Label: indent + a.Name + "（" + a.Level.Zh() + "）", Selected: a.Code == area.Code})
	}
	for _, k := range targets.Keys {
		v := viewFigure(k, rep.Figures[k])
		d.Figures = append(d.Figures, v)
		d.RankKeys = append(d.RankKeys, v)
	}
	// The ranking: the chosen figure, highest first; ties by code.
	slices.SortStableFunc(kids, func(a, b targets.Child) int {
		va, vb := a.Figures[rank].Value, b.Figures[rank].Value
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return strings.Compare(a.Code, b.Code)
	})
	for i, k := range kids {
		row := rankRow{Rank: i + 1, Code: k.Code, Name: k.Name, Level: people.Level(k.Level).Zh(),
			Href: Prefix + "targets?" + url.Values{"area": {k.Code}, "year": {strconv.Itoa(year)}, "rank": {rank}}.Encode()}
		for _, key := range targets.Keys {
			row.Figures = append(row.Figures, viewFigure(key, k.Figures[key]))
		}
		row.RankedFigure = viewFigure(rank, k.Figures[rank])
		d.Children = append(d.Children, row)
	}
	tj, _ := json.Marshal(trend)
	d.Trend = string(tj)
	d.From, d.To = fmt.Sprintf("%d-01-01", year), fmt.Sprintf("%d-12-31", year)
	recs := url.Values{"area": {area.Code}, "from": {d.From}, "to": {d.To}}.Encode()
	stats := url.Values{"area": {area.Code}, "year": {strconv.Itoa(year)}}.Encode()
	d.Exports = []exportLink{
		{"export-records-xlsx", "服务记录（XLSX，含未导出记录清单）", "/api/v1/exports/service-records.xlsx?" + recs},
		{"export-records-csv", "服务记录（CSV，UTF-8）", "/api/v1/exports/service-records.csv?" + recs},
		{"export-records-gb", "服务记录（CSV，GB18030）", "/api/v1/exports/service-records.csv?encoding=gb18030&" + recs},
		{"export-report", "未导出记录清单（JSON）", "/api/v1/exports/service-records.report.json?" + recs},
		{"export-stats-xlsx", "年度统计表（XLSX）", "/api/v1/exports/statistics.xlsx?" + stats},
		{"export-stats-csv", "年度统计表（CSV）", "/api/v1/exports/statistics.csv?" + stats},
	}
	c.render(w, r, http.StatusOK, "targets", &page{Title: "目标看板", Active: "targets", Data: d})
}

// depth is how far below the top of the tree code lies.
func depth(byCode map[string]people.Area, code string) int {
	n := 0
	for a, ok := byCode[code]; ok && a.Parent != "" && n < 8; a, ok = byCode[a.Parent] {
		n++
	}
	return n
}
