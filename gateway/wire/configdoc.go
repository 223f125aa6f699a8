package wire

import (
	"crypto/ed25519"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// ConfigSchema is the JSON Schema of the config document
// (config.schema.json). ValidateConfig checks the same constraints in Go,
// plus the few a schema cannot state; a test keeps the two in agreement.
//
//go:embed config.schema.json
var ConfigSchema []byte

// MaxLogoBytes bounds the station logo (PNG bytes before base64).
const MaxLogoBytes = 256 << 10

// EncodeConfig sets c's schema version, validates it and marshals it: the
// bytes a cloud signs with Seal.
func EncodeConfig(c *Config) ([]byte, error) {
	c.V = Version
	if err := ValidateConfig(c); err != nil {
		return nil, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: config of %d bytes", ErrTooLarge, len(data))
	}
	return data, nil
}

// DecodeConfig parses a config document already taken out of its verified
// envelope and validates it.
func DecodeConfig(data []byte) (*Config, error) {
	c := new(Config)
	if err := decode(data, c, &c.V); err != nil {
		return nil, err
	}
	if err := ValidateConfig(c); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidateConfig checks c against the schema's constraints (see
// ConfigSchema) and against what JSON Schema cannot say: star thresholds
// ascending, unique menu IDs, no issuer keys outside the signed key set,
// volunteers' names masked.
// Errors wrap ErrInvalid or ErrTooLarge.
func ValidateConfig(c *Config) error {
	v := &validator{}
	if c.V != Version {
		return fmt.Errorf("%w: v=%d, this side speaks v=%d", ErrVersion, c.V, Version)
	}
	if c.Version < 1 {
		v.fail("version must be at least 1")
	}
	if c.Station != "" && !ValidStationID(c.Station) {
		v.fail("station %q is not a station ID", c.Station)
	}
	if p := c.Profile; p != nil {
		v.str("profile.name", p.Name, 0, 128)
		v.str("profile.county", p.County, 0, 64)
		v.str("profile.address", p.Address, 0, 256)
		if len(p.Logo) > MaxLogoBytes {
			v.fail("profile.logo is %d bytes, at most %d", len(p.Logo), MaxLogoBytes)
		}
		v.count("profile.checklist", len(p.Checklist), 20)
		for i, it := range p.Checklist {
			v.str(fmt.Sprintf("profile.checklist[%d].item", i), it.Item, 1, 128)
			v.str(fmt.Sprintf("profile.checklist[%d].note", i), it.Note, 0, 256)
		}
	}
	v.count("menu", len(c.Menu), 50)
	seen := map[string]bool{}
	for i, cat := range c.Menu {
		at := fmt.Sprintf("menu[%d]", i)
		v.str(at+".id", cat.ID, 1, 64)
		v.str(at+".name", cat.Name, 1, 128)
		v.count(at+".items", len(cat.Items), 100)
		for j, it := range cat.Items {
			at := fmt.Sprintf("%s.items[%d]", at, j)
			v.str(at+".id", it.ID, 1, 64)
			if seen[it.ID] {
				v.fail("%s.id %q repeats a menu item ID", at, it.ID)
			}
			seen[it.ID] = true
			v.str(at+".name", it.Name, 1, 128)
			v.str(at+".what", it.What, 0, 1024)
			for name, s := range map[string]string{"when": it.When, "where": it.Where, "who": it.Who, "contact": it.Contact} {
				v.str(at+"."+name, s, 0, 256)
			}
			v.str(at+".url", it.URL, 0, 1024)
		}
	}
	if b := c.Board; b != nil {
		v.count("board.workflow", len(b.Workflow), 50)
		for i, s := range b.Workflow {
			v.str(fmt.Sprintf("board.workflow[%d]", i), s, 0, 256)
		}
		v.count("board.services", len(b.Services), 100)
		for i, s := range b.Services {
			v.str(fmt.Sprintf("board.services[%d]", i), s, 0, 256)
		}
		v.str("board.contact_person", b.ContactPerson, 0, 64)
		v.str("board.phone", b.Phone, 0, 32)
		v.str("board.opening_hours", b.OpeningHours, 0, 128)
	}
	v.count("announcements", len(c.Announcements), 50)
	for i, a := range c.Announcements {
		at := fmt.Sprintf("announcements[%d]", i)
		v.str(at+".title", a.Title, 1, 200)
		v.str(at+".body", a.Body, 0, 4096)
		v.str(at+".where", a.Where, 0, 256)
	}
	v.count("honor_roll", len(c.HonorRoll), 200)
	v.str("honor_roll_period", c.HonorRollPeriod, 0, 64)
	for i, h := range c.HonorRoll {
		at := fmt.Sprintf("honor_roll[%d]", i)
		v.str(at+".volunteer", h.Volunteer, 1, 64)
		v.str(at+".name", h.Name, 0, 64)
		v.masked(at+".name", h.Name)
		v.num(at+".hours", h.Hours, 0, -1)
		v.num(at+".stars", float64(h.Stars), 0, 5)
	}
	if u := c.UI; u != nil {
		v.num("ui.idle_timeout_seconds", float64(u.IdleTimeoutSeconds), 0, 3600)
		if u.Language != "" && u.Language != "zh" && u.Language != "en" {
			v.fail("ui.language %q: want zh or en", u.Language)
		}
	}
	if r := c.Reader; r != nil {
		v.num("reader.debounce_ms", float64(r.DebounceMillis), 0, 60000)
		if r.AntennaGain != nil {
			v.num("reader.antenna_gain", float64(*r.AntennaGain), 0, 7)
		}
	}
	if r := c.Rules; r != nil {
		v.num("rules.max_session_minutes", float64(r.MaxSessionMinutes), 0, 2880)
	}
	v.count("stars", len(c.Stars), 10)
	for i, s := range c.Stars {
		if s <= 0 {
			v.fail("stars[%d] must be positive", i)
		}
		if i > 0 && s <= c.Stars[i-1] {
			v.fail("stars must ascend: stars[%d]=%g after %g", i, s, c.Stars[i-1])
		}
	}
	v.count("revoked", len(c.Revoked), 100000)
	for i, s := range c.Revoked {
		v.str(fmt.Sprintf("revoked[%d]", i), s, 1, 64)
	}
	if len(c.TrustedKeys) > 0 {
		v.fail("trusted_keys: card issuer keys are taken only from key_set, signed offline with the issuer root key (leifeng-card keyset sign)")
	}
	if e := c.KeySet; e != nil {
		if e.V != Version {
			v.fail("key_set.v=%d, want %d", e.V, Version)
		}
		v.str("key_set.key", e.Key, 1, 64)
		if len(e.Sig) != ed25519.SignatureSize {
			v.fail("key_set.sig is %d bytes, want %d", len(e.Sig), ed25519.SignatureSize)
		}
		if len(e.Payload) == 0 {
			v.fail("key_set.payload is empty")
		}
	}
	v.count("volunteers", len(c.Volunteers), 5000)
	for i, p := range c.Volunteers {
		at := fmt.Sprintf("volunteers[%d]", i)
		v.str(at+".id", p.ID, 1, 64)
		v.str(at+".name", p.Name, 0, 64)
		v.masked(at+".name", p.Name)
		v.num(at+".hours", p.Hours, 0, -1)
		v.count(at+".notes", len(p.Notes), 10)
		for j, n := range p.Notes {
			v.str(fmt.Sprintf("%s.notes[%d].id", at, j), n.ID, 1, 128)
			v.str(fmt.Sprintf("%s.notes[%d].text", at, j), n.Text, 1, 200)
		}
		v.num(at+".star_eligible", float64(p.StarEligible), 0, 5)
		if p.Star != nil {
			v.num(at+".star", float64(*p.Star), 0, 5)
		}
		v.count(at+".tasks", len(p.Tasks), 20)
		for j, t := range p.Tasks {
			v.str(fmt.Sprintf("%s.tasks[%d].ref", at, j), t.Ref, 1, 32)
			v.str(fmt.Sprintf("%s.tasks[%d].category", at, j), t.Category, 0, 64)
		}
	}
	v.count("orders", len(c.Orders), 500)
	for i, o := range c.Orders {
		at := fmt.Sprintf("orders[%d]", i)
		v.str(at+".ref", o.Ref, 1, 32)
		v.str(at+".category", o.Category, 0, 64)
		if !slices.Contains(orderStates, o.State) {
			v.fail("%s.state=%q is not an order state", at, o.State)
		}
		v.str(at+".reason", o.Reason, 0, 200)
		v.str(at+".check", o.Check, 16, 16)
	}
	if s := c.Served; s != nil {
		v.str("served.period", s.Period, 0, 32)
		v.count("served.counts", len(s.Counts), 100)
		for i, n := range s.Counts {
			v.str(fmt.Sprintf("served.counts[%d].category", i), n.Category, 1, 64)
			v.num(fmt.Sprintf("served.counts[%d].count", i), float64(n.Count), 0, -1)
		}
	}
	v.count("activities", len(c.Activities), 50)
	for i, a := range c.Activities {
		at := fmt.Sprintf("activities[%d]", i)
		v.num(at+".id", float64(a.ID), 1, -1)
		v.str(at+".name", a.Name, 1, 200)
		v.str(at+".category", a.Category, 0, 64)
		if a.End.Before(a.Start) {
			v.fail("%s ends before it starts", at)
		}
	}
	v.count("notice", len(c.Notice), 500)
	for i, n := range c.Notice {
		at := fmt.Sprintf("notice[%d]", i)
		v.str(at+".id", n.ID, 1, 128)
		v.str(at+".name", n.Name, 0, 64)
		v.masked(at+".name", n.Name)
		if _, err := time.Parse(time.DateOnly, n.Day); err != nil || len(n.Day) != 10 {
			v.fail("%s.day %q is not a day (YYYY-MM-DD)", at, n.Day)
		}
		v.str(at+".activity", n.Activity, 0, 200)
		v.num(at+".hours", n.Hours, 0, -1)
		v.num(at+".level", float64(n.Level), 0, 5)
		switch n.Kind {
		case "", NoticeRecordKind:
		case NoticeStar:
			// A star names its level (the schema cannot say "if").
			v.num(at+".level", float64(n.Level), 1, 5)
		default:
			v.fail("%s.kind %q is not record or star", at, n.Kind)
		}
		v.str(at+".org", n.Org, 0, 200)
	}
	return v.err
}

// orderStates are the states an order can be in (cloud/orders).
var orderStates = []string{"submitted", "dispatched", "accepted", "in_service", "completed", "rated", "rejected", "cancelled"}

// validator keeps the first failure.
type validator struct{ err error }

func (v *validator) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: config: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

// str checks a string's length in characters, as JSON Schema counts them.
func (v *validator) str(at, s string, minLen, maxLen int) {
	if !utf8.ValidString(s) {
		v.fail("%s is not UTF-8", at)
		return
	}
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		v.fail("%s has %d characters, want %d to %d", at, n, minLen, maxLen)
	}
}

// masked refuses a volunteer's name that is not masked (NameMasked): a
// kiosk shows these names on a public screen, so one that slipped past the
// cloud unmasked is refused here too.
func (v *validator) masked(at, name string) {
	if !NameMasked(name) {
		v.fail("%s is not masked (want e.g. 王*明, shown as MaskName makes it)", at)
	}
}

func (v *validator) count(at string, n, maxN int) {
	if n > maxN {
		v.fail("%s has %d entries, at most %d", at, n, maxN)
	}
}

// num checks lo <= x <= hi; hi < 0 means no upper bound.
func (v *validator) num(at string, x, lo, hi float64) {
	if x < lo || (hi >= 0 && x > hi) {
		v.fail("%s=%g out of range", at, x)
	}
}

// DefaultConfig is what a kiosk runs before any signed config arrived: the
// built-in rules (3 s debounce, 12 h maximum session), Chinese, the
// national star thresholds. Version 0 means "built in".
func DefaultConfig() *Config {
	return &Config{
		V:      Version,
		UI:     &UISettings{IdleTimeoutSeconds: 60, Language: "zh"},
		Reader: &ReaderConfig{DebounceMillis: 3000, AntennaGain: new(DefaultAntennaGain)},
		Rules:  &Rules{MaxSessionMinutes: 12 * 60},
		Stars:  slices.Clone(DefaultStars),
	}
}

// unionRevoked is a followed by the serials of b not in a.
func unionRevoked(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]string, 0, len(a)+len(b))
	for _, s := range append(slices.Clip(a), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// MergeConfig lays the fleet defaults over base (the built-in defaults) and
// the station's document over both: a field the station sets wins, an empty
// one falls back. UI, Reader and Rules merge field by field. Revoked is the
// exception: revocations add up, a serial revoked in any of the documents
// stays revoked, so a station document pushed before a revocation cannot
// hide the fleet document that carries it. Either
// document may be nil. The result's Version and Station are the station
// document's; base, fleet and station are not modified.
func MergeConfig(base, fleet, station *Config) *Config {
	out := cloneConfig(base)
	for _, c := range []*Config{fleet, station} {
		if c == nil {
			continue
		}
		out.Version, out.Station, out.Issued = c.Version, c.Station, c.Issued
		if c.Profile != nil {
			out.Profile = c.Profile
		}
		if c.Menu != nil {
			out.Menu = c.Menu
		}
		if c.Board != nil {
			out.Board = c.Board
		}
		if c.Announcements != nil {
			out.Announcements = c.Announcements
		}
		if c.HonorRoll != nil {
			out.HonorRoll = c.HonorRoll
		}
		if c.HonorRollPeriod != "" {
			out.HonorRollPeriod = c.HonorRollPeriod
		}
		if c.Stars != nil {
			out.Stars = c.Stars
		}
		if c.Revoked != nil {
			out.Revoked = unionRevoked(out.Revoked, c.Revoked)
		}
		if c.TrustedKeys != nil {
			out.TrustedKeys = c.TrustedKeys
		}
		if c.KeySet != nil {
			out.KeySet = c.KeySet
		}
		if c.Volunteers != nil {
			out.Volunteers = c.Volunteers
		}
		if c.Orders != nil {
			out.Orders = c.Orders
		}
		if c.Served != nil {
			out.Served = c.Served
		}
		if c.Activities != nil {
			out.Activities = c.Activities
		}
		if c.Notice != nil {
			out.Notice = c.Notice
		}
		if u := c.UI; u != nil {
			m := UISettings{}
			if out.UI != nil {
				m = *out.UI
			}
			if u.IdleTimeoutSeconds != 0 {
				m.IdleTimeoutSeconds = u.IdleTimeoutSeconds
			}
			if u.LargeText != nil {
				m.LargeText = u.LargeText
			}
			if u.HighContrast != nil {
				m.HighContrast = u.HighContrast
			}
			if u.Language != "" {
				m.Language = u.Language
			}
			if u.Sound != nil {
				m.Sound = u.Sound
			}
			if u.Voice != nil {
				m.Voice = u.Voice
			}
			out.UI = &m
		}
		if r := c.Reader; r != nil {
			m := ReaderConfig{}
			if out.Reader != nil {
				m = *out.Reader
			}
			if r.DebounceMillis != 0 {
				m.DebounceMillis = r.DebounceMillis
			}
			if r.AntennaGain != nil {
				m.AntennaGain = r.AntennaGain
			}
			out.Reader = &m
		}
		if r := c.Rules; r != nil && r.MaxSessionMinutes != 0 {
			out.Rules = &Rules{MaxSessionMinutes: r.MaxSessionMinutes}
		}
	}
	if station == nil {
		out.Station = ""
		if fleet == nil {
			out.Version = base.Version
		}
	}
	return out
}

// cloneConfig copies c deeply enough that merging into the copy never
// writes through to c (the nested structs it replaces are copied).
func cloneConfig(c *Config) *Config {
	out := *c
	if c.UI != nil {
		u := *c.UI
		out.UI = &u
	}
	if c.Reader != nil {
		r := *c.Reader
		out.Reader = &r
	}
	if c.Rules != nil {
		r := *c.Rules
		out.Rules = &r
	}
	out.Stars = slices.Clone(c.Stars)
	return &out
}
