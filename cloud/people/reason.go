package people

import (
	"errors"
	"fmt"
)

// Reason is why a record is refused: a code for programs, a sentence in
// Chinese for the person who fixes the file or the form, and one in
// English for logs. Errors from this package and the store's checks wrap
// a Reason; Explain finds it.
type Reason struct {
	Code string
	Zh   string
	En   string
}

func (r *Reason) Error() string { return r.En }

// The reasons a record is refused.
var (
	ErrMissingName      = &Reason{"missing_name", "缺少姓名（名称），请填写", "missing name"}
	ErrMissingID        = &Reason{"missing_id", "缺少编号，请填写", "missing id"}
	ErrBadIDNumber      = &Reason{"bad_id_number", "身份证件号码格式不对或校验位不符，请核对 18 位号码", "malformed ID number"}
	ErrDuplicatePerson  = &Reason{"duplicate_person", "此身份证件号码已登记为另一名志愿者，同一人不能重复注册", "duplicate ID number: this person is already registered"}
	ErrIDTaken          = &Reason{"id_taken", "此编号已登记为另一人，请换一个编号", "this id is already registered to another person"}
	ErrUnknownCommunity = &Reason{"unknown_community", "找不到该社区（村）代码，请先导入区域或核对代码", "unknown community"}
	ErrUnknownArea      = &Reason{"unknown_area", "找不到该区域代码，请先导入上级区域或核对代码", "unknown area"}
	ErrUnknownOrg       = &Reason{"unknown_org", "找不到该志愿服务组织，请先导入组织或核对编号", "unknown organisation"}
	ErrBadParent        = &Reason{"bad_parent", "上级区域的层级不对：市下是县（区），县（区）下是乡镇（街道），乡镇（街道）下是社区（村）", "parent is not one level up"}
	ErrBadLevel         = &Reason{"bad_level", "层级应为 市、县（区）、乡镇（街道）或 社区（村）", "level must be city, county, township or community"}
	ErrBadPopulation    = &Reason{"bad_population", "常住人口应为不小于 0 的整数", "population must be a whole number, 0 or more"}
	ErrBadPhone         = &Reason{"bad_phone", "联系电话格式不对，请填写 11 位手机号或带区号的固定电话", "bad phone"}
	ErrBadGender        = &Reason{"bad_gender", "性别应为 男 或 女，且与身份证件号码一致", "gender must be male or female and match the ID number"}
	ErrBadDate          = &Reason{"bad_date", "日期格式不对，请写成 2006-01-02", "bad date (use 2006-01-02)"}
	ErrBirthMismatch    = &Reason{"birth_mismatch", "出生日期与身份证件号码不一致，请核对", "birth date does not match the ID number"}
	ErrBadGroup         = &Reason{"bad_group", "人员类别应为 党员、公务员、教师、大学生、中小学生 或 其他", "group must be party_member, civil_servant, teacher, college_student, school_student or other"}
	ErrBadBool          = &Reason{"bad_bool", "请填写 是 或 否", "use yes or no"}
	ErrNoConsent        = &Reason{"no_guardian_consent", "未满 18 周岁的志愿者需要监护人同意，请取得同意后再登记", "a minor needs a guardian's consent"}
	ErrTooYoung         = &Reason{"too_young", "未满 10 周岁的学生不能注册为志愿者", "a school student under 10 cannot register"}
	ErrBadCounty        = &Reason{"bad_county", "所属县（区）不是县（区）级区域，请核对代码", "county is not a county-level area"}
	ErrSelfParent       = &Reason{"self_parent", "上级不能是自己", "an item cannot be its own parent"}
)

// Explain returns the Reason err wraps, or nil.
func Explain(err error) *Reason {
	var r *Reason
	if errors.As(err, &r) {
		return r
	}
	return nil
}

// refuse wraps reason with a detail that holds no personal data (a code,
// a column value that names a place or a group).
func refuse(reason *Reason, format string, a ...any) error {
	if format == "" {
		return reason
	}
	return fmt.Errorf("%w: %s", reason, fmt.Sprintf(format, a...))
}

// Outcome is what saving one area, organisation or volunteer did.
type Outcome int

// The outcomes of a saved row.
const (
	// Refused: the row's Err says why; nothing of it was stored.
	Refused Outcome = iota
	Added
	Updated
	// Unchanged: the row was stored already as given (for a volunteer:
	// the same person under the same ID, whose stored data an import never
	// overwrites).
	Unchanged
)

// Result is the outcome of one row of a batch; Err, for a refused row,
// wraps a Reason.
type Result struct {
	Outcome Outcome
	Err     error
}
