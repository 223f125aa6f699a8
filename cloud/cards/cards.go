// Package cards is the cloud's card desk: it issues a volunteer's card
// (signs a credential with the cloud's online issuer key, the volunteer's
// masked name inside, and records it), lists a volunteer's cards, revokes
// one and re-issues a lost or broken one (the old one revoked, a new
// serial). Every revocation goes out at once in a push of the fleet
// defaults, and with every later push (fleet.Service.Push), so it reaches
// every kiosk within one push.
//
// The signed credential is returned as a reader.CredentialFile for
// `leifeng-card write` at the desk with the reader: the cloud never holds
// a card's own keys (MIFARE Classic key B, NTAG 424 DNA SDM keys).
package cards

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"leifeng/cloud/store"
	"leifeng/gateway/wire"
	"leifeng/reader"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
)

// Media are the card types a credential can be issued for.
var Media = []string{"classic1k", "ntag213", "ntag215", "ntag216", "ntag424"}

// DefaultMedia is the card type when a request names none.
const DefaultMedia = "ntag215"

// DefaultValidity is how long a card is valid when a request gives no
// expiry date; MaxValidity the longest a request may ask for.
const (
	DefaultValidity = 3 // years
	MaxValidity     = 10
)

// cst is China Standard Time: issue and expiry dates are civil dates in
// Pu'er.
var cst = time.FixedZone("CST", 8*3600)

// InputError is a request the desk refuses: which field, why (English),
// and what the person at the console reads (Chinese, saying what to do).
type InputError struct {
	Field string
	Msg   string
	Zh    string
}

func (e *InputError) Error() string { return "cards: " + e.Field + ": " + e.Msg }

// Pusher sends the revocation list to every kiosk at once; fleet.Service
// is one.
type Pusher interface {
	PushRevocations(ctx context.Context) (uint64, error)
}

// Service is the card desk. Its methods are safe for concurrent use.
type Service struct {
	st   *store.Store
	key  *reader.PrivateKeyFile
	priv ed25519.PrivateKey
	push Pusher
	log  *slog.Logger
	// Now is the clock; tests may set it.
	Now func() time.Time
}

// NewService returns the card desk signing with key. push may be nil (no
// broker): revocations then reach the kiosks with the next config push.
func NewService(st *store.Store, key *reader.PrivateKeyFile, push Pusher, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, key: key, priv: ed25519.NewKeyFromSeed(key.Seed), push: push, log: log, Now: time.Now}
}

// PublicKey is the desk's issuer public key, for the key set the offline
// root signs.
func (s *Service) PublicKey() reader.PublicKeyFile { return PublicKey(s.key) }

// Request asks for a card.
type Request struct {
	// UID is the blank card's UID in hex (4, 7 or 10 bytes), as the
	// reader at the desk shows it.
	UID string `json:"uid"`
	// Media is the card type (Media); "" means DefaultMedia.
	Media string `json:"media"`
	// Expires is the last valid day, YYYY-MM-DD; "" means DefaultValidity
	// years from today.
	Expires string `json:"expires"`
}

// Issued is a card just issued: as recorded, and the credential to write.
type Issued struct {
	Card  *store.Card            `json:"card"`
	Write *reader.CredentialFile `json:"write"`
}

// Withdrawn is a card taken out of use and the push that carried its
// revocation to the kiosks.
type Withdrawn struct {
	Card *store.Card `json:"card"`
	// Config is the version of the fleet defaults pushed with the
	// revocation; 0 when the push failed or there is no broker, and the
	// revocation then leaves with the next push.
	Config uint64 `json:"config"`
	// PushError says why the push failed.
	PushError string `json:"push_error,omitempty"`
}

// Issue signs a credential for volunteer's blank card and records it. by
// names who asked (for the record). The volunteer must be known to the
// cloud (store.ErrNotFound otherwise); a card that already carries an
// active credential is refused (store.ErrExists).
func (s *Service) Issue(ctx context.Context, volunteer string, req Request, by string) (*Issued, error) {
	c, name, err := s.prepare(ctx, volunteer, req, by)
	if err != nil {
		return nil, err
	}
	w, err := s.sign(c, name)
	if err != nil {
		return nil, err
	}
	if err := s.st.AddCard(ctx, *c); err != nil {
		return nil, err
	}
	s.log.Info("card issued", "volunteer", volunteer, "serial", c.Serial, "media", c.Media, "by", by)
	return &Issued{Card: c, Write: w}, nil
}

// Cards lists volunteer's cards, oldest first; store.ErrNotFound for a
// volunteer the cloud does not know.
func (s *Service) Cards(ctx context.Context, volunteer string) ([]store.Card, error) {
	if _, err := s.st.VolunteerName(ctx, volunteer); err != nil {
		return nil, err
	}
	cs, err := s.st.VolunteerCards(ctx, volunteer)
	if cs == nil {
		cs = []store.Card{}
	}
	return cs, err
}

// Card returns one card; store.ErrNotFound for an unknown serial.
func (s *Service) Card(ctx context.Context, serial string) (*store.Card, error) {
	return s.st.Card(ctx, serial)
}

// Revoke takes an active card out of use (state store.CardRevoked, or
// store.CardLost when lost) and pushes the revocation to every kiosk at
// once. reason is kept with the card. An unknown serial is
// store.ErrNotFound, a card already out of use store.ErrCardWithdrawn.
func (s *Service) Revoke(ctx context.Context, serial, reason string, lost bool, by string) (*Withdrawn, error) {
	if err := checkReason(reason); err != nil {
		return nil, err
	}
	state := store.CardRevoked
	if lost {
		state = store.CardLost
	}
	c, err := s.st.WithdrawCard(ctx, serial, store.Withdrawal{State: state, At: s.Now(), By: by, Reason: reason})
	if err != nil {
		return nil, err
	}
	s.log.Info("card revoked", "volunteer", c.Volunteer, "serial", serial, "state", state, "by", by)
	return s.pushed(ctx, c), nil
}

// RevokeAll takes every active card of volunteer out of use, as Revoke
// does, with one push for them all: a deregistered (注销) volunteer's
// cards stop working at every kiosk. It returns how many it revoked.
func (s *Service) RevokeAll(ctx context.Context, volunteer, reason, by string) (int, error) {
	if err := checkReason(reason); err != nil {
		return 0, err
	}
	cs, err := s.st.VolunteerCards(ctx, volunteer)
	if err != nil {
		return 0, err
	}
	n := 0
	var last *store.Card
	for _, c := range cs {
		if c.State != store.CardActive {
			continue
		}
		w, err := s.st.WithdrawCard(ctx, c.Serial, store.Withdrawal{State: store.CardRevoked, At: s.Now(), By: by, Reason: reason})
		if errors.Is(err, store.ErrCardWithdrawn) {
			continue
		}
		if err != nil {
			return n, err
		}
		s.log.Info("card revoked", "volunteer", volunteer, "serial", c.Serial, "state", store.CardRevoked, "by", by)
		n, last = n+1, w
	}
	if last != nil {
		s.pushed(ctx, last)
	}
	return n, nil
}

// Reissue issues a new card to the volunteer of old and takes old out of
// use in the same transaction: store.CardLost when lost, else
// store.CardReplaced, with ReplacedBy naming the new serial. A card
// already revoked or reported lost may be re-issued once. The revocation
// is pushed at once, as by Revoke.
func (s *Service) Reissue(ctx context.Context, old string, req Request, reason string, lost bool, by string) (*Issued, *Withdrawn, error) {
	if err := checkReason(reason); err != nil {
		return nil, nil, err
	}
	prev, err := s.st.Card(ctx, old)
	if err != nil {
		return nil, nil, err
	}
	c, name, err := s.prepare(ctx, prev.Volunteer, req, by)
	if err != nil {
		return nil, nil, err
	}
	if req.Media == "" {
		c.Media = prev.Media
	}
	w, err := s.sign(c, name)
	if err != nil {
		return nil, nil, err
	}
	state := store.CardReplaced
	if lost {
		state = store.CardLost
	}
	prev, err = s.st.ReplaceCard(ctx, old, store.Withdrawal{State: state, At: s.Now(), By: by, Reason: reason}, *c)
	if err != nil {
		return nil, nil, err
	}
	s.log.Info("card re-issued", "volunteer", c.Volunteer, "old", old, "serial", c.Serial, "state", state, "by", by)
	return &Issued{Card: c, Write: w}, s.pushed(ctx, prev), nil
}

// pushed pushes the revocation list after c was withdrawn.
func (s *Service) pushed(ctx context.Context, c *store.Card) *Withdrawn {
	out := &Withdrawn{Card: c}
	if s.push == nil {
		out.PushError = "no broker: the revocation leaves with the next config push"
		return out
	}
	v, err := s.push.PushRevocations(ctx)
	if err != nil {
		// Stored: the next push of any config carries it.
		s.log.Error("revocation stored but not pushed", "serial", c.Serial, "err", err)
		out.PushError = err.Error()
		return out
	}
	out.Config = v
	return out
}

func checkReason(reason string) error {
	if utf8.RuneCountInString(reason) > 200 {
		return &InputError{"reason", "at most 200 characters", "原因最多 200 个字，请写简短些。"}
	}
	return nil
}

// prepare checks a request and returns the card to record (with a fresh
// serial) and the masked name to sign into it.
func (s *Service) prepare(ctx context.Context, volunteer string, req Request, by string) (*store.Card, string, error) {
	if volunteer == "" || len(volunteer) > credential.MaxVolunteerLen {
		return nil, "", &InputError{"volunteer", "1 to 64 bytes", "志愿者编号有误，请核对后再试。"}
	}
	name, err := s.st.VolunteerName(ctx, volunteer)
	if err != nil {
		return nil, "", err
	}
	uid, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(req.UID), ":", ""))
	if err != nil || (len(uid) != 4 && len(uid) != 7 && len(uid) != 10) {
		return nil, "", &InputError{"uid", "want the card UID in hex, 4, 7 or 10 bytes",
			"卡号（UID）有误：请把空白卡放在读卡器上，照读卡器显示的十六进制卡号填写（8、14 或 20 位）。"}
	}
	media := req.Media
	if media == "" {
		media = DefaultMedia
	}
	if !slices.Contains(Media, media) {
		return nil, "", &InputError{"media", "one of " + strings.Join(Media, ", "),
			"卡片类型有误，请选择 " + strings.Join(Media, "、") + " 之一。"}
	}
	now := s.Now().In(cst)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	expires := today.AddDate(DefaultValidity, 0, 0)
	if req.Expires != "" {
		expires, err = time.ParseInLocation("2006-01-02", req.Expires, cst)
		if err != nil || expires.Before(today) || expires.After(today.AddDate(MaxValidity, 0, 0)) {
			return nil, "", &InputError{"expires", fmt.Sprintf("want a date YYYY-MM-DD from today to %d years ahead", MaxValidity),
				fmt.Sprintf("有效期有误：请填写今天到 %d 年之内的日期，格式如 2029-12-31。", MaxValidity)}
		}
	}
	serial, err := s.newSerial(ctx, now)
	if err != nil {
		return nil, "", err
	}
	c := &store.Card{Serial: serial, Volunteer: volunteer, UID: strings.ToUpper(hex.EncodeToString(uid)), Media: media,
		Issued: s.Now().UTC(), IssuedBy: by, Expires: expires.Format("2006-01-02"), State: store.CardActive}
	return c, displayName(name), nil
}

// sign signs c's credential with the masked name and checks it fits the
// card.
func (s *Service) sign(c *store.Card, name string) (*reader.CredentialFile, error) {
	uid, _ := hex.DecodeString(c.UID)
	expires, _ := time.ParseInLocation("2006-01-02", c.Expires, cst)
	cred := &credential.Credential{UID: uid, Volunteer: c.Volunteer, Serial: c.Serial, Name: name,
		Issued: c.Issued.In(cst), Expires: expires}
	b, err := cred.Sign(s.key.KeyID, s.priv)
	if err != nil {
		return nil, err
	}
	// NTAG 424 DNA's NDEF file holds 256 bytes, more than any credential;
	// the others are laid out here (without the card's own keys, which
	// change no size) to refuse now what would not fit at the desk.
	if c.Media != "ntag424" {
		if _, err := cardimage.Issue(c.Media, uid, b, cardimage.IssueOptions{}); err != nil {
			return nil, &InputError{"media", err.Error(),
				"这张卡容量不足，写不下志愿者的证件信息，请改用 NTAG215、NTAG216 或 M1（classic1k）卡。"}
		}
	}
	return &reader.CredentialFile{Format: reader.CredentialFormat, Serial: c.Serial, Volunteer: c.Volunteer, Name: name,
		UID: uid, Media: c.Media, Expires: c.Expires, KeyID: s.key.KeyID, Credential: b}, nil
}

// newSerial is a fresh serial: C, the issue year, and 40 random bits.
func (s *Service) newSerial(ctx context.Context, now time.Time) (string, error) {
	for range 5 {
		var b [5]byte
		rand.Read(b[:])
		serial := fmt.Sprintf("C%d-%X", now.Year(), b)
		_, err := s.st.Card(ctx, serial)
		if errors.Is(err, store.ErrNotFound) {
			return serial, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", errors.New("cards: no free serial after 5 tries")
}

// displayName is name masked for a public screen (wire.MaskName), with
// the stars of a very long name folded to one so that it fits the card.
func displayName(name string) string {
	m := wire.MaskName(name)
	if len(m) <= credential.MaxNameLen {
		return m
	}
	r := []rune(strings.TrimSpace(name))
	return string(r[0]) + "*" + string(r[len(r)-1])
}

// Refusal is how a person is told that the desk refused: the HTTP status
// and the reason in Chinese (the console shows it, the API sends it as
// message_zh). A fault that is not a refusal is 500 and "".
func Refusal(err error) (int, string) {
	var in *InputError
	switch {
	case errors.As(err, &in):
		return http.StatusBadRequest, in.Zh
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "找不到这位志愿者或这张志愿服务证，请核对志愿者编号或证件序列号后再试。"
	case errors.Is(err, store.ErrCardWithdrawn):
		return http.StatusConflict, "这张志愿服务证已停用或已补办过，无需再次操作；如需新证，请为志愿者办理新卡。"
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, "这张卡上已有一张有效的志愿服务证。请换一张空白卡，或先停用原证再重写。"
	}
	return http.StatusInternalServerError, ""
}
