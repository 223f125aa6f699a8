// Package certificate makes the certificate of volunteer service (志愿服务
// 证明, issue 12 point 7) as a PDF in the four blocks of 民发〔2015〕149号
// (《关于规范志愿服务记录证明工作的指导意见》): the volunteer (name,
// masked ID number, volunteer number), the service (hours by period in
// both ledgers and in total, and what the service was), the issuer
// (organisation, responsible person, handler, contact) and the
// certificate's number and date, with a QR code to the public
// verification page /verify/{number}.
//
// Only final service records count (store.StatusFinal): Summarize reads
// what the caller selected and adds up the figures the certificate
// prints; PDF draws it. The font is bundled (font/, see font.go): the
// kiosk's Noto Sans CJK SC subset with TrueType outlines, which covers
// every character of the 通用规范汉字表 and GB 2312, so any name a
// volunteer can register with prints.
package certificate

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"leifeng/cloud/calendar"
	"leifeng/cloud/store"
)

// Certificate is what one certificate prints.
type Certificate struct {
	// Number is the certificate number (证明编号), NewNumber's.
	Number string
	// Volunteer block: Name in full (it is the volunteer's own paper),
	// IDMasked the ID number as the register masks it, NationalID the
	// 志愿者编号 (the national one when known), VolunteerID the cloud's.
	Name, IDMasked, NationalID, VolunteerID string
	// Service block: the days From and To (YYYY-MM-DD, both included),
	// the hours per period and in total, and what the service was.
	From, To string
	Periods  []Period
	Total    Period
	Records  int
	Content  string
	// Issuer block.
	Issuer Issuer
	// Issued is when it was made (printed as 出具日期, in China Standard
	// Time).
	Issued time.Time
	// VerifyURL is what the QR code holds: <public address>/verify/{number}.
	VerifyURL string
}

// Issuer is the body that issues a certificate and the people behind it.
type Issuer struct {
	Org     string // 出具组织
	Lead    string // 负责人 ("" leaves a line to sign on)
	Handler string // 经办人
	Contact string // 联系方式
}

// Period is the hours of one month or year of the certificate, in
// hundredths (50 = 0.5 h), per ledger: Card proven by card taps, Manual
// entered by hand (补录) and approved, Imported from the city's earlier
// systems.
type Period struct {
	Label    string
	Card     int64
	Manual   int64
	Imported int64
}

// Sum is the period's total.
func (p Period) Sum() int64 { return p.Card + p.Manual + p.Imported }

// Hours formats hundredths of an hour as hours: 400 → "4", 150 → "1.5",
// 125 → "1.25".
func Hours(cents int64) string {
	s := strconv.FormatInt(cents/100, 10)
	if f := cents % 100; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", f), "0")
	}
	return s
}

// dayRe is a day as the API takes it.
var dayRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// ParseDay reads a day (2026-03-01) of China Standard Time.
func ParseDay(s string) (time.Time, error) {
	if !dayRe.MatchString(s) {
		return time.Time{}, fmt.Errorf("certificate: day %q: want YYYY-MM-DD", s)
	}
	t, err := time.ParseInLocation("2006-01-02", s, calendar.CST)
	if err != nil {
		return time.Time{}, fmt.Errorf("certificate: day %q: %w", s, err)
	}
	return t, nil
}

// monthly: a range of at most this many calendar months is shown month
// by month, a longer one year by year.
const monthly = 12

// Summarize adds up the final records among recs whose day is within
// from..to (days, both included): per month when the range spans at most
// 12 calendar months (each month of the range, with hours or not), else
// per year; the total; the number of records; and what the service was
// (the five contents with the most hours, by hours).
func Summarize(recs []store.ServiceRecord, from, to string) (periods []Period, total Period, n int, content string) {
	f, errF := ParseDay(from)
	t, errT := ParseDay(to)
	if errF != nil || errT != nil || t.Before(f) {
		return nil, Period{Label: "合计"}, 0, ""
	}
	months := (t.Year()-f.Year())*12 + int(t.Month()-f.Month()) + 1
	byMonth := months <= monthly
	key := func(day string) string {
		if byMonth {
			return day[:7]
		}
		return day[:4]
	}
	index := map[string]int{}
	if byMonth {
		for m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, calendar.CST); !m.After(t); m = m.AddDate(0, 1, 0) {
			index[m.Format("2006-01")] = len(periods)
			periods = append(periods, Period{Label: fmt.Sprintf("%d年%d月", m.Year(), m.Month())})
		}
	} else {
		for y := f.Year(); y <= t.Year(); y++ {
			index[strconv.Itoa(y)] = len(periods)
			periods = append(periods, Period{Label: fmt.Sprintf("%d年", y)})
		}
	}
	total.Label = "合计"
	type what struct {
		name  string
		cents int64
		n     int
	}
	contents := map[string]*what{}
	for i := range recs {
		r := &recs[i]
		if r.Status != store.StatusFinal || r.Day < from || r.Day > to || len(r.Day) < 7 {
			continue
		}
		j, ok := index[key(r.Day)]
		if !ok {
			continue
		}
		p := &periods[j]
		switch r.Ledger {
		case store.LedgerCard:
			p.Card += r.CountedCents
			total.Card += r.CountedCents
		case store.LedgerManual:
			p.Manual += r.CountedCents
			total.Manual += r.CountedCents
		default:
			p.Imported += r.CountedCents
			total.Imported += r.CountedCents
		}
		n++
		name := firstOf(r.Content, r.ActivityName, r.Category, "志愿服务")
		w := contents[name]
		if w == nil {
			w = &what{name: name}
			contents[name] = w
		}
		w.cents += r.CountedCents
		w.n++
	}
	list := make([]*what, 0, len(contents))
	for _, w := range contents {
		list = append(list, w)
	}
	slices.SortFunc(list, func(a, b *what) int {
		if a.cents != b.cents {
			return int(b.cents - a.cents)
		}
		return strings.Compare(a.name, b.name)
	})
	var parts []string
	for i, w := range list {
		if i == 5 {
			parts[len(parts)-1] += fmt.Sprintf("等（另有%d项）", len(list)-5)
			break
		}
		parts = append(parts, fmt.Sprintf("%s（%d次，%s小时）", clip(w.name, 20), w.n, Hours(w.cents)))
	}
	return periods, total, n, strings.Join(parts, "；")
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// numberAlphabet is base32 without padding, in upper case: no 0/1/8/9,
// so a number read aloud or typed is not mistaken (O/0, I/1).
var numberEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NumberPrefix starts every certificate number: 普洱 (Pu'er).
const NumberPrefix = "PE"

// NewNumber is a new certificate number: "PE", the year of now in China
// Standard Time, and 10 random base32 characters (50 bits), e.g.
// PE2026K7QX4M2ZTA. Nobody can guess another's number from theirs.
func NewNumber(now time.Time) (string, error) {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("certificate: number: %w", err)
	}
	return fmt.Sprintf("%s%d%s", NumberPrefix, now.In(calendar.CST).Year(), numberEncoding.EncodeToString(b)[:10]), nil
}

var numberRe = regexp.MustCompile(`^PE\d{4}[A-Z2-7]{10}$`)

// ValidNumber reports whether s has the form of a certificate number.
func ValidNumber(s string) bool { return numberRe.MatchString(s) }
