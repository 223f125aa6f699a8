package hours

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Validate checks a version of the rules before it is stored, saying in
// Chinese what to correct.
func Validate(r Rules) error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if len(r.Bands) == 0 {
		bad("至少需要一个取整档位（bands）")
	}
	prevUp, prevHours := 0, -1.0
	for i, b := range r.Bands {
		if b.UpTo <= prevUp {
			bad("第%d个档位的上限（%d分钟）必须大于前一档（%d分钟）：档位按分钟从小到大排列", i+1, b.UpTo, prevUp)
		}
		if !finite(b.Hours) || b.Hours < 0 {
			bad("第%d个档位的时长不能为负数", i+1)
		} else if b.Hours < prevHours {
			bad("第%d个档位的时长（%s小时）不能少于前一档（%s小时）：档位时长应逐档不减", i+1, num(b.Hours), num(prevHours))
		} else if b.Hours > float64(b.UpTo)/60+1e-9 {
			bad("第%d个档位计%s小时，超过了该档的最长时长（%d分钟）", i+1, num(b.Hours), b.UpTo)
		}
		if cents(b.Hours)*100 != int64(math.Round(b.Hours*10000)) {
			bad("第%d个档位的时长最多两位小数", i+1)
		}
		prevUp, prevHours = b.UpTo, b.Hours
	}
	if !finite(r.Step) || r.Step < 0 {
		bad("超出档位后的取整单位（step）不能为负数（0 表示按实际分钟计）")
	} else if r.Step > 0 && cents(r.Step) == 0 {
		bad("取整单位（step）至少 0.01 小时")
	}
	if !finite(r.MinShare) || r.MinShare < 0 || r.MinShare > 1 {
		bad("最低时长比例（min_share）应在 0 到 1 之间，例如 0.6 表示活动时长的60%%")
	}
	if !finite(r.OrgCap) || !finite(r.CountyCap) || r.OrgCap <= 0 || r.CountyCap <= 0 {
		bad("每日上限（org_cap、county_cap）必须大于 0 小时")
	} else if r.OrgCap >= r.CountyCap {
		bad("组织审核上限（org_cap %s小时）必须小于县（区）审核上限（county_cap %s小时）", num(r.OrgCap), num(r.CountyCap))
	} else if r.CountyCap > 24 {
		bad("县（区）审核上限不能超过一天的 24 小时")
	}
	if r.MaxSessions < 0 {
		bad("每日最多次数（max_sessions）不能为负数（0 表示不限）")
	}
	for _, k := range r.Excluded {
		if strings.TrimSpace(k) == "" {
			bad("不计时长的活动类型（excluded）不能有空项")
		}
	}
	if r.NoticeDays < 1 {
		bad("公示期（notice_days）至少 1 个工作日")
	}
	if r.DeadlineDays < 1 {
		bad("录入时限（deadline_days）至少 1 个工作日（办法规定 10 个工作日）")
	}
	if r.WarnDays < 0 || r.WarnDays >= max(r.DeadlineDays, 1) {
		bad("到期提醒（warn_days）应不少于 0 且小于录入时限（deadline_days）")
	}
	if !finite(r.ManualCap) || r.ManualCap < 0 {
		bad("补录上限（manual_cap）不能为负数")
	}
	if !slices.Contains([]string{"month", "year"}, r.ManualPeriod) {
		bad("补录上限周期（manual_period）只能是 month 或 year")
	}
	if !finite(r.TravelKmh) || r.TravelKmh <= 0 {
		bad("最快行进速度（travel_kmh）必须大于 0")
	}
	if r.BurstTaps < 2 || r.BurstMinutes < 1 {
		bad("连续刷卡判定（burst_taps 至少 2 次，burst_minutes 至少 1 分钟）")
	}
	if len(errs) > 0 {
		return errors.New("工时规则有误，请修改后再保存：" + strings.Join(errs, "；"))
	}
	return nil
}
