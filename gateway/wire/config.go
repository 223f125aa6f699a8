package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Config is the document that says what a kiosk shows and how it behaves.
// The cloud signs its exact bytes (Seal) and publishes it retained on
// stations/{id}/config, and the fleet defaults on fleet/config; a kiosk
// merges the two (the station wins), applies a document only if its
// signature verifies and its Version is newer than the one it runs, and
// keeps the last good one.
//
// Every field but V and Version is optional: an empty field means "the
// fleet default", and for the fleet document "the built-in default".
type Config struct {
	V int `json:"v"`
	// Version rises strictly with every document published for the same
	// topic.
	Version uint64 `json:"version"`
	// Station is the station the document is for; empty for the fleet
	// defaults.
	Station string    `json:"station,omitempty"`
	Issued  time.Time `json:"issued,omitzero"`

	Profile       *Profile       `json:"profile,omitempty"`
	Menu          []MenuCategory `json:"menu,omitempty"`
	Board         *Board         `json:"board,omitempty"`
	Announcements []Announcement `json:"announcements,omitempty"`
	HonorRoll     []Honor        `json:"honor_roll,omitempty"`
	// HonorRollPeriod is the period the honor roll covers, as the
	// kiosk shows it, e.g. "2026年11月".
	HonorRollPeriod string        `json:"honor_roll_period,omitempty"`
	UI              *UISettings   `json:"ui,omitempty"`
	Reader          *ReaderConfig `json:"reader,omitempty"`
	Rules           *Rules        `json:"rules,omitempty"`
	// Stars are the star-level thresholds in hours, ascending (default
	// 100, 300, 600, 1000, 1500).
	Stars []float64 `json:"stars,omitempty"`
	// Revoked lists revoked card credential serials.
	Revoked []string `json:"revoked,omitempty"`
	// TrustedKeys is refused when set (ValidateConfig): card issuer keys
	// reach a kiosk only inside KeySet, signed offline by the issuer root,
	// never on the config key alone. The field stays so that a document
	// still carrying it is refused with that reason instead of having its
	// keys silently ignored.
	TrustedKeys []TrustedKey `json:"trusted_keys,omitempty"`
	// KeySet is the card-issuer key set signed offline by the issuer root
	// (`leifeng-card keyset sign`); the cloud relays it as it is, and the
	// kiosk verifies it against the root key it was provisioned with.
	KeySet *Envelope `json:"key_set,omitempty"`
	// Volunteers are the station's volunteers as the kiosk may show them:
	// masked name and hours recorded in the cloud at Issued.
	Volunteers []VolunteerSummary `json:"volunteers,omitempty"`
	// Orders are the residents' orders registered at this station that
	// are open or changed lately, so a resident can look one up at the
	// kiosk offline (OrderCheck proves the phone digits).
	Orders []OrderStatus `json:"orders,omitempty"`
	// Served is the contact board's count of this month's served orders
	// per category: counts, no names.
	Served *Served `json:"served,omitempty"`
	// Activities are the station's activities on now or soon (issue 12),
	// which a volunteer may choose at check-in (wire.Record.Activity); a
	// kiosk offers those whose window, widened by ActivityMargin, holds
	// its clock, so that offline it still offers the right ones from its
	// last document. None chosen means the station's default activity.
	Activities []StationActivity `json:"activities,omitempty"`
	// Notice is the station's service records in public notice (公示) or
	// under objection, newest first: what its kiosk's 公示 screen shows
	// and a volunteer may object to by card tap (KindObjection).
	Notice []NoticeRecord `json:"notice,omitempty"`
}

// ActivityMargin widens an activity's window at the kiosk: a volunteer
// who arrives early or checks in late still finds it.
const ActivityMargin = time.Hour

// StationActivity is an activity a volunteer may choose at check-in.
type StationActivity struct {
	ID int64 `json:"id"`
	// Name is 活动名称, Category 服务类别.
	Name     string    `json:"name"`
	Category string    `json:"category,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Default marks the station's default activity, the one a check-in
	// with none chosen belongs to: the kiosk does not list it as a choice.
	Default bool `json:"default,omitempty"`
}

// Current reports whether a volunteer checking in at now may choose a:
// its window widened by ActivityMargin holds now.
func (a StationActivity) Current(now time.Time) bool {
	return !now.Before(a.Start.Add(-ActivityMargin)) && !now.After(a.End.Add(ActivityMargin))
}

// NoticeRecord is a service record in public notice as a kiosk shows it:
// the volunteer's name masked.
type NoticeRecord struct {
	// ID is the service record's ID, which an objection's Ref names.
	ID   string `json:"id"`
	Name string `json:"name"` // masked
	// Day is the service day, YYYY-MM-DD (China Standard Time).
	Day      string  `json:"day"`
	Activity string  `json:"activity,omitempty"`
	Hours    float64 `json:"hours"`
	// Until is when the notice period ends (zero: not known).
	Until time.Time `json:"until,omitzero"`
	// Objected: an objection is open, the record does not count until it
	// is resolved.
	Objected bool `json:"objected,omitempty"`
	// Kind is NoticeStar for a star award in notice (星级认定公示); empty
	// (or NoticeRecordKind) for a service record. An older kiosk ignores
	// Kind, Level and Org and lists a star's line like a record's: Activity
	// then says what it is ("星级认定公示：拟认定为三星级志愿者"), Hours is 0,
	// Day the application's day. ID is "star:<award id>", which an
	// objection's Ref names like a record's.
	Kind string `json:"kind,omitempty"`
	// Level is the star proposed (1–5), for Kind NoticeStar.
	Level int `json:"level,omitempty"`
	// Org is the organisation's name when the star is an organisation's
	// (Name is then empty: only people's names are masked).
	Org string `json:"org,omitempty"`
}

// Kinds of a notice list's entry.
const (
	NoticeRecordKind = "record"
	NoticeStar       = "star"
)

// VolunteerNote is something the kiosk tells a volunteer at their next
// tap: a review's outcome they have not seen yet.
type VolunteerNote struct {
	// ID names what it is about: the service record's ID.
	ID   string `json:"id"`
	Text string `json:"text"`
}

// OrderStatus is a resident's order as the kiosk may show it.
type OrderStatus struct {
	Ref      string `json:"ref"`
	Category string `json:"category"`
	// State is the order's state (submitted, dispatched, accepted,
	// in_service, completed, rated, rejected, cancelled).
	State string `json:"state"`
	// Reason is a rejection's or cancellation's reason: the resident is
	// told it.
	Reason string `json:"reason,omitempty"`
	// Check is OrderCheck(station, ref, the phone's last four digits):
	// the kiosk shows the order only to someone who knows them, and holds
	// no phone number.
	Check   string    `json:"check"`
	Updated time.Time `json:"updated,omitzero"`
}

// OrderCheck is what a kiosk compares to prove a resident knows the last
// four digits of the phone given with order ref. Four digits are only ten
// thousand tries: it keeps the number off the kiosk and off a glance, the
// kiosk limits tries, and it is no secret against whoever holds the
// config.
func OrderCheck(station, ref, digits string) string {
	sum := sha256.Sum256([]byte("leifeng-order\x00" + station + "\x00" + strings.ToUpper(ref) + "\x00" + digits))
	return hex.EncodeToString(sum[:8])
}

// Served counts served orders per category over a period.
type Served struct {
	// Period is the period as the kiosk shows it, e.g. "2026年11月".
	Period string        `json:"period"`
	Counts []ServedCount `json:"counts,omitempty"`
}

// ServedCount is one category's count.
type ServedCount struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// Task is an order a volunteer is assigned to, as the kiosk tells them at
// their next tap ("您有一项待服务任务").
type Task struct {
	Ref      string `json:"ref"`
	Category string `json:"category"`
}

// Profile is the station's identity and its "十有" checklist.
type Profile struct {
	Name    string `json:"name,omitempty"`
	County  string `json:"county,omitempty"`
	Address string `json:"address,omitempty"`
	// Logo is a PNG, base64 in JSON; empty for the unified logo.
	Logo      []byte          `json:"logo,omitempty"`
	Checklist []ChecklistItem `json:"checklist,omitempty"`
}

// ChecklistItem is one of the ten things a station must have.
type ChecklistItem struct {
	Item string `json:"item"`
	Done bool   `json:"done"`
	Note string `json:"note,omitempty"`
}

// MenuCategory is a service type of the menu (菜单式服务目录).
type MenuCategory struct {
	ID    string     `json:"id"`
	Name  string     `json:"name"`
	Items []MenuItem `json:"items,omitempty"`
}

// MenuItem is one service the station offers.
type MenuItem struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	What    string `json:"what,omitempty"`
	When    string `json:"when,omitempty"`
	Where   string `json:"where,omitempty"`
	Who     string `json:"who,omitempty"`
	Contact string `json:"contact,omitempty"`
	// URL is the service's page, shown as a QR code.
	URL string `json:"url,omitempty"`
}

// Board is the contact board (公示栏).
type Board struct {
	Workflow      []string `json:"workflow,omitempty"`
	Services      []string `json:"services,omitempty"`
	ContactPerson string   `json:"contact_person,omitempty"`
	Phone         string   `json:"phone,omitempty"`
	OpeningHours  string   `json:"opening_hours,omitempty"`
}

// Announcement is an upcoming activity.
type Announcement struct {
	Title string    `json:"title"`
	Body  string    `json:"body,omitempty"`
	When  time.Time `json:"when,omitzero"`
	Where string    `json:"where,omitempty"`
}

// Honor is a line of the honor roll (志愿光荣榜).
type Honor struct {
	Volunteer string  `json:"volunteer"`
	Name      string  `json:"name"` // masked, e.g. 张*三
	Hours     float64 `json:"hours"`
	Stars     int     `json:"stars"`
}

// UISettings tune the touchscreen.
//
// The switches are pointers so that "not set" (nil: take the fleet's or
// the built-in default) differs from "off": a station's explicit false
// turns off a fleet default. On the wire they stay JSON booleans.
type UISettings struct {
	IdleTimeoutSeconds int   `json:"idle_timeout_seconds,omitempty"`
	LargeText          *bool `json:"large_text,omitempty"`
	HighContrast       *bool `json:"high_contrast,omitempty"`
	// Language is "zh" (default) or "en".
	Language string `json:"language,omitempty"`
	// Sound plays a tone on success and failure; Voice speaks the result.
	Sound *bool `json:"sound,omitempty"`
	Voice *bool `json:"voice,omitempty"`
}

// LargeTextOn reports whether large text is switched on (nil: off).
func (u *UISettings) LargeTextOn() bool { return u != nil && u.LargeText != nil && *u.LargeText }

// HighContrastOn reports whether high contrast is switched on (nil: off).
func (u *UISettings) HighContrastOn() bool {
	return u != nil && u.HighContrast != nil && *u.HighContrast
}

// ReaderConfig tunes the card reader.
type ReaderConfig struct {
	DebounceMillis int `json:"debounce_ms,omitempty"`
	// AntennaGain is the MFRC522's receiver gain, 0 (18 dB) to 7 (48 dB).
	// A pointer, because 0 is a gain a station may choose, not "unset".
	AntennaGain *int `json:"antenna_gain,omitempty"`
}

// DefaultAntennaGain is the MFRC522's reset value of its receiver gain
// (33 dB), used while no config sets one.
const DefaultAntennaGain = 4

// Gain is the receiver gain to apply: AntennaGain, or DefaultAntennaGain
// when unset.
func (r *ReaderConfig) Gain() int {
	if r == nil || r.AntennaGain == nil {
		return DefaultAntennaGain
	}
	return *r.AntennaGain
}

// Rules are the check-in rules.
type Rules struct {
	// MaxSessionMinutes closes longer sessions with an auto_check_out.
	MaxSessionMinutes int `json:"max_session_minutes,omitempty"`
}

// TrustedKey is a card issuer's Ed25519 public key.
type TrustedKey struct {
	ID        uint16 `json:"id"`
	PublicKey []byte `json:"public_key"`
}

// VolunteerSummary is what a kiosk may show of a volunteer: only the
// station's own volunteers reach it, names masked by the cloud (MaskName;
// ValidateConfig refuses one that is not).
type VolunteerSummary struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"` // masked
	Hours float64 `json:"hours"`
	// HoursAsOf is when the cloud counted Hours (zero: the config's
	// Issued time); a kiosk shows the age of figures older than a day.
	HoursAsOf time.Time `json:"hours_as_of,omitzero"`
	// Tasks are the open orders the volunteer is assigned to.
	Tasks []Task `json:"tasks,omitempty"`
	// Notes are review outcomes the volunteer has not seen yet, shown at
	// their next tap.
	Notes []VolunteerNote `json:"notes,omitempty"`
	// StarEligible is the star level the volunteer may apply for now
	// ("可申请升级"); 0: none.
	StarEligible int `json:"star_eligible,omitempty"`
	// Star is the highest star awarded to the volunteer (0: none), the
	// star the kiosk shows at the tap. Nil (a cloud that does not send
	// it): the kiosk shows the level Hours reaches on the config's stars
	// thresholds, as before.
	Star *int `json:"star,omitempty"`
}

// DefaultStars are the national star thresholds in hours: 一星 to 五星.
var DefaultStars = []float64{100, 300, 600, 1000, 1500}
