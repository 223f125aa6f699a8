package orders

import (
	"slices"
	"strings"
	"unicode/utf8"

	"leifeng/cloud/access"
)

// Visible reports whether scope sc sees o: the city every order; an
// organisation administrator those dispatched to its organisations; a
// station manager those registered at its stations or in its stations'
// communities; a county administrator and an auditor with an area those
// of its communities. store.OrderFilterOf is the same rule for a list.
func Visible(sc *access.Scope, o *Order) bool {
	switch {
	case sc.All():
		return true
	case sc.Role == access.Org:
		return o.Org != "" && slices.Contains(sc.VolunteerOrgs(), o.Org)
	case sc.Role == access.Station:
		return sc.Stations[o.Station] || sc.Areas[o.Community]
	default:
		return sc.Area(o.Community)
	}
}

// ShownTo is o as u may see it: the resident's phone whole to those who
// serve the order, masked to one who only reads (an auditor).
func ShownTo(u *access.User, o Order) Order {
	if u == nil || !u.CanChange() {
		o.Phone = MaskPhone(o.Phone)
	}
	return o
}

// CheckNeed checks a need entered for a resident (代办, or in the
// console): a category, the resident's phone (11-digit mobile or a fixed
// line with its area code) and fields of bounded length. The error, an
// *Error, says in Chinese what to fix.
func CheckNeed(category, phone, note, preferred string) error {
	switch {
	case category == "":
		return refuse(ErrInvalid, "请选择服务类别。", "category missing")
	case !ValidPhone(phone):
		return refuse(ErrInvalid, "请填写居民的11位手机号码或带区号的固定电话。", "bad phone")
	case utf8.RuneCountInString(note) > 500 || utf8.RuneCountInString(category) > 64 || utf8.RuneCountInString(preferred) > 64:
		return refuse(ErrInvalid, "说明不能超过500个字，类别和时间不能超过64个字。", "field too long")
	}
	return nil
}

// ValidPhone reports whether s is an 11-digit mobile number or a fixed
// line with its area code (digits and dashes).
func ValidPhone(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	d := strings.ReplaceAll(s, "-", "")
	return (len(d) == 11 && d[0] == '1') || (len(d) >= 10 && len(d) <= 12 && d[0] == '0')
}
