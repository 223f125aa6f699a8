package activities

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"leifeng/cloud/store"
)

// The fields an activity carries for the national service record
// (民政部令第67号 Art. 7, issue 12): 服务类别, 服务内容, 活动负责人, 记录人,
// its kind and whether it is a station's default activity.

// Categories are the service types of plan item 30 (GLOSSARY), the 服务类别
// an activity may have.
var Categories = []string{"文明实践", "脱贫攻坚", "乡村振兴", "美丽中国", "“一带一路”国门友好", "社会治安", "法律",
	"医疗卫生", "环保宣传", "文化服务", "消防宣传", "禁毒服务", "防艾服务", "文明交通", "文明旅游", "文明上网", "站点服务",
	"社区服务", "党员服务", "青年服务", "职工服务", "巾帼服务", "关爱空巢老人", "关爱留守儿童", "关爱未成年人", "关爱困难职工",
	"关爱困境儿童", "关爱残疾人", "关爱贫困户", "平安志愿服务", "红十字会服务", "“五老”服务", "应急救援服务", "赛会服务",
	"邻里守望", "邻里互助", "义务家教", "家政", "救灾", "救护", "志愿者组织管理", "志愿服务文化培育"}

// The kinds of activity: a service counts as service hours; the hour
// rules exclude meetings and routine duty by default (hours.Default).
const (
	KindService = "service"
	KindMeeting = "meeting"
	KindDuty    = "duty"
)

// Kinds are the known kinds with their Chinese names, in the order the
// console offers them.
var Kinds = []struct{ Kind, Zh string }{
	{KindService, "志愿服务"},
	{KindMeeting, "会议"},
	{KindDuty, "日常值守"},
}

// KindName is kind's Chinese name (kind itself if unknown).
func KindName(kind string) string {
	for _, k := range Kinds {
		if k.Kind == kind {
			return k.Zh
		}
	}
	return kind
}

// Limits of the national fields, in characters.
const (
	MaxContent = 1000
	MaxPerson  = 50
)

// checkNational tidies and refuses the national fields of a: a category
// not of the plan's list, an unknown kind, a content, lead or recorder too
// long, a default activity not naming exactly its stations.
func checkNational(a *store.Activity) error {
	a.Category, a.Content = strings.TrimSpace(a.Category), strings.TrimSpace(a.Content)
	a.Lead, a.Recorder, a.Kind = strings.TrimSpace(a.Lead), strings.TrimSpace(a.Recorder), strings.TrimSpace(a.Kind)
	if a.Kind == "" {
		a.Kind = KindService
	}
	switch {
	case a.Category != "" && !slices.Contains(Categories, a.Category):
		return refuse(http.StatusUnprocessableEntity, "unknown category "+a.Category,
			"服务类别“"+a.Category+"”不在全市的服务类别中，请从列表中选择。")
	case !slices.ContainsFunc(Kinds, func(k struct{ Kind, Zh string }) bool { return k.Kind == a.Kind }):
		return refuse(http.StatusUnprocessableEntity, "unknown kind "+a.Kind,
			"活动类型应为 志愿服务、会议 或 日常值守，请重新选择。")
	case utf8.RuneCountInString(a.Content) > MaxContent:
		return refuse(http.StatusUnprocessableEntity, "content too long", fmt.Sprintf("服务内容不能超过%d个字。", MaxContent))
	case utf8.RuneCountInString(a.Lead) > MaxPerson, utf8.RuneCountInString(a.Recorder) > MaxPerson:
		return refuse(http.StatusUnprocessableEntity, "lead or recorder too long",
			fmt.Sprintf("活动负责人和记录人各不能超过%d个字。", MaxPerson))
	case a.Default && (len(a.Stations) == 0 || len(a.Areas) > 0):
		return refuse(http.StatusUnprocessableEntity, "a default activity names exactly its stations",
			"站点的默认活动须逐一选择它所属的站点，不能面向社区、区域或全市；请只勾选站点。")
	}
	return nil
}

// checkDefault refuses a default activity for a station that has another
// default activity at an overlapping time: a check-in with no activity
// chosen must belong to one. Defaults at different times (this year's,
// next year's) may follow each other.
func (l *List) checkDefault(ctx context.Context, a *store.Activity) error {
	if !a.Default {
		return nil
	}
	others, err := l.Store.Activities(ctx, a.Start)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == a.ID || !o.Default || !o.Start.Before(a.End) {
			continue
		}
		for _, s := range a.Stations {
			if slices.Contains(o.Stations, s) {
				return refuse(http.StatusConflict, fmt.Sprintf("station %s has default activity %d then", s, o.ID),
					fmt.Sprintf("站点 %s 在这段时间已有默认活动“%s”，每个站点同一时间只能有一个默认活动；请先修改那项活动，或取消“默认活动”。", s, o.Title))
			}
		}
	}
	return nil
}
