package history

import (
	"fmt"

	"leifeng/cloud/people"
)

// The reasons a row is refused, besides the people import's
// (people.ErrUnknownOrg, people.ErrUnknownCommunity, people.ErrBadDate).
var (
	ErrMissing          = &people.Reason{Code: "missing_field", Zh: "缺少必填项，请填写", En: "missing required field"}
	ErrTooLong          = &people.Reason{Code: "too_long", Zh: "内容过长，请缩短", En: "field too long"}
	ErrDuplicateID      = &people.Reason{Code: "duplicate_id", Zh: "编号与文件中前面一行重复，同一记录只导入一次，请删去重复行或改正编号", En: "id repeats an earlier row of the file"}
	ErrUnknownVolunteer = &people.Reason{Code: "unknown_volunteer", Zh: "找不到该志愿者编号，请先导入志愿者或核对编号", En: "unknown volunteer"}
	ErrUnknownStation   = &people.Reason{Code: "unknown_station", Zh: "找不到该站点编号，请核对，不在站点的服务请留空", En: "unknown station"}
	ErrStationElsewhere = &people.Reason{Code: "station_elsewhere", Zh: "该站点不在所填的社区（村），请核对站点编号或社区代码", En: "station is not in that community"}
	ErrFutureDate       = &people.Reason{Code: "future_date", Zh: "服务日期晚于今天，请核对日期", En: "date is in the future"}
	ErrBadTime          = &people.Reason{Code: "bad_time", Zh: "时间格式不对，请写成 09:30", En: "bad time (use 09:30)"}
	ErrEndBeforeStart   = &people.Reason{Code: "end_before_start", Zh: "结束时间须晚于开始时间，请核对", En: "end not after start"}
	ErrBadHours         = &people.Reason{Code: "bad_hours", Zh: "服务时长应为 0 到 24 之间的小时数，如 1.5", En: "hours must be a number from 0 to 24"}
	ErrHoursOverSpan    = &people.Reason{Code: "hours_over_span", Zh: "服务时长超过开始到结束的时间（最多可多出半小时），请核对时长或时间", En: "hours exceed end − start by more than half an hour"}
)

// refuse wraps reason with a detail that holds no personal data.
func refuse(reason *people.Reason, format string, a ...any) error {
	return fmt.Errorf("%w: %s", reason, fmt.Sprintf(format, a...))
}
