package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Version is the schema version of every message this package writes, and
// the only one it reads.
const Version = 1

// Limits on what a receiver accepts. A batch of MaxBatchRecords ordinary
// records is about a third of MaxMessageBytes.
const (
	MaxMessageBytes = 1 << 20
	MaxBatchRecords = 1000
	MaxAckIDs       = MaxBatchRecords
	maxField        = 256
)

// Kind says what a record is.
type Kind string

// Record kinds.
const (
	KindCheckIn        Kind = "check_in"
	KindCheckOut       Kind = "check_out"
	KindAutoCheckOut   Kind = "auto_check_out"
	KindServiceRequest Kind = "service_request"
	// KindOrderStart says a volunteer's check-in (Ref) is service of the
	// resident's order Order, which the volunteer was assigned to; the
	// check-out that closes that check-in completes the order.
	KindOrderStart Kind = "order_start"
	// KindOrderRating is a resident's rating of the service of order
	// Order (1–5, Rating, and a preset comment in Note), proven by the
	// last four digits of their phone in Phone.
	KindOrderRating Kind = "order_rating"
	// KindObjection is a volunteer's objection (异议), by card tap, to a
	// service record or a star award in public notice (公示): Ref is the
	// entry's ID as the station's notice list gave it (a record's ID, or
	// "star:<award id>"), Note the reason chosen.
	KindObjection Kind = "objection"
)

// Known reports whether k is a kind this version defines.
func (k Kind) Known() bool {
	switch k {
	case KindCheckIn, KindCheckOut, KindAutoCheckOut, KindServiceRequest, KindOrderStart, KindOrderRating, KindObjection:
		return true
	}
	return false
}

// Closes reports whether a record of kind k ends a session.
func (k Kind) Closes() bool { return k == KindCheckOut || k == KindAutoCheckOut }

// Clock is a reading of the kiosk's clocks. A Raspberry Pi has no real-time
// clock, so At may be wrong after a power cut without network; Mono (the
// monotonic clock in nanoseconds, CLOCK_BOOTTIME) is right within the boot
// named by Boot, and Synced says whether At was NTP-synchronised.
type Clock struct {
	At     time.Time `json:"at"`
	Mono   int64     `json:"mono"`
	Boot   string    `json:"boot"`
	Synced bool      `json:"synced"`
}

// Record is one event made at a kiosk. Its ID (a UUIDv7 made on the kiosk)
// is its identity from the tap to the database: the gateway stores each ID
// once, however often it arrives.
type Record struct {
	ID        string `json:"id"`
	Station   string `json:"station"`
	Kind      Kind   `json:"kind"`
	Volunteer string `json:"volunteer,omitempty"`
	// Card is the serial of the credential that was tapped.
	Card string `json:"card,omitempty"`
	// Service is the menu item the session or request is about.
	Service string `json:"service,omitempty"`
	// Ref is, on a record that closes a session, the ID of the check_in it
	// closes.
	Ref string `json:"ref,omitempty"`
	// At is the kiosk's wall clock; see ClockSynced.
	At          time.Time `json:"at"`
	Mono        int64     `json:"mono"`
	Boot        string    `json:"boot"`
	ClockSynced bool      `json:"clock_synced"`
	// Seq is the station's own sequence number, rising by one per record.
	Seq uint64 `json:"seq"`
	// Review asks a person to look at the record (an automatic check-out).
	Review bool `json:"review,omitempty"`
	// Phone and Note belong to a service request.
	Phone string `json:"phone,omitempty"`
	Note  string `json:"note,omitempty"`
	// Counter and SUN carry an NTAG 424 DNA tap counter and SUN message for
	// the cloud's clone check.
	Counter uint32 `json:"counter,omitempty"`
	SUN     string `json:"sun,omitempty"`
	// Order is the reference number of a resident's order (XQ-…) that an
	// order_start or order_rating record is about.
	Order string `json:"order,omitempty"`
	// Rating is an order_rating's 1 to 5.
	Rating int `json:"rating,omitempty"`
	// Activity is, on a check-in, the activity the volunteer chose from
	// the station's current activities (0: none chosen, the station's
	// default activity).
	Activity int64 `json:"activity,omitempty"`
}

// Validate checks the record's required fields and formats.
func (r *Record) Validate() error {
	if err := ValidRecordID(r.ID); err != nil {
		return err
	}
	if !ValidStationID(r.Station) {
		return fmt.Errorf("%w: record %s: bad station ID %q", ErrInvalid, r.ID, r.Station)
	}
	if !r.Kind.Known() {
		return fmt.Errorf("%w: record %s: unknown kind %q", ErrInvalid, r.ID, r.Kind)
	}
	if r.Kind != KindServiceRequest && r.Kind != KindOrderRating && r.Volunteer == "" {
		return fmt.Errorf("%w: record %s: %s without volunteer", ErrInvalid, r.ID, r.Kind)
	}
	if r.Kind.Closes() {
		if err := ValidRecordID(r.Ref); err != nil {
			return fmt.Errorf("%w: record %s: %s must name the check_in it closes", ErrInvalid, r.ID, r.Kind)
		}
	}
	switch r.Kind {
	case KindOrderStart:
		if r.Order == "" || ValidRecordID(r.Ref) != nil {
			return fmt.Errorf("%w: record %s: order_start must name the order and the check_in it starts", ErrInvalid, r.ID)
		}
	case KindObjection:
		if r.Ref == "" {
			return fmt.Errorf("%w: record %s: objection must name the service record", ErrInvalid, r.ID)
		}
	case KindOrderRating:
		if r.Order == "" || r.Rating < 1 || r.Rating > 5 || !fourDigits(r.Phone) {
			return fmt.Errorf("%w: record %s: order_rating needs the order, a rating of 1 to 5 and four phone digits", ErrInvalid, r.ID)
		}
	default:
		if r.Order != "" || r.Rating != 0 {
			return fmt.Errorf("%w: record %s: %s does not name an order", ErrInvalid, r.ID, r.Kind)
		}
	}
	if r.Activity < 0 || (r.Activity != 0 && r.Kind != KindCheckIn) {
		return fmt.Errorf("%w: record %s: only a check-in names an activity", ErrInvalid, r.ID)
	}
	if r.At.IsZero() {
		return fmt.Errorf("%w: record %s: no time", ErrInvalid, r.ID)
	}
	if r.Boot == "" || r.Mono < 0 {
		return fmt.Errorf("%w: record %s: no boot ID or negative monotonic time", ErrInvalid, r.ID)
	}
	for name, v := range map[string]string{
		// Ref is free text on a check-in or a service request (only a
		// record that closes a session must hold a record ID there), so it
		// is checked like the others.
		"volunteer": r.Volunteer, "card": r.Card, "service": r.Service, "ref": r.Ref,
		"boot": r.Boot, "phone": r.Phone, "note": r.Note, "sun": r.SUN, "order": r.Order,
	} {
		if len(v) > maxField || !utf8.ValidString(v) {
			return fmt.Errorf("%w: record %s: field %s too long or not UTF-8", ErrInvalid, r.ID, name)
		}
		if c, bad := controlChar(v, name == "note"); bad {
			return fmt.Errorf("%w: record %s: field %s holds control character %U", ErrInvalid, r.ID, name, c)
		}
	}
	return nil
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// controlChar finds a character no record field may hold: NUL, which
// PostgreSQL refuses in text and which would stall the batch that carries
// it; the other C0 and C1 controls and DEL, which no card, menu or
// touchscreen produces; and the bidirectional overrides and isolates,
// which make a name or note display as something else in the console. A
// multi-line field (a resident's note) may hold tabs and line feeds.
func controlChar(s string, multiline bool) (rune, bool) {
	for _, c := range s {
		switch {
		case multiline && (c == '\n' || c == '\t'):
		case unicode.IsControl(c), c >= 0x202A && c <= 0x202E, c >= 0x2066 && c <= 0x2069:
			return c, true
		}
	}
	return 0, false
}

// ValidRecordID checks that id is a UUIDv7 in its canonical text form.
func ValidRecordID(id string) error {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 || u.Version() != 7 || u.String() != id {
		return fmt.Errorf("%w: record ID %q is not a canonical UUIDv7", ErrInvalid, id)
	}
	return nil
}

// NewRecordID makes a record ID: a UUIDv7, so IDs sort by creation time.
func NewRecordID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Batch is a run of records a kiosk publishes on stations/{id}/records.
type Batch struct {
	V       int    `json:"v"`
	Station string `json:"station"`
	// Sent is the kiosk's clock when this copy of the batch was published;
	// the gateway uses it to correct the times of unsynced records of the
	// same boot.
	Sent    Clock    `json:"sent"`
	Records []Record `json:"records"`
}

// Ack is the gateway's answer on stations/{id}/ack, published only after
// the batch's database transaction committed. IDs were stored (now or
// before); Rejected will never be stored and should not be sent again.
//
// A gateway that holds the cloud's config key sends the ack sealed in an
// Envelope (SealAck), and a kiosk that trusts that key obeys only a sealed
// one (OpenAck): a compromised broker cannot make a kiosk delete records
// that were never stored. Replaying a genuine ack gains nothing, since
// record IDs are never reused: it names only records already stored.
type Ack struct {
	V        int         `json:"v"`
	Station  string      `json:"station"`
	IDs      []string    `json:"ids"`
	Rejected []Rejection `json:"rejected,omitempty"`
	// Server is the gateway's clock, for a kiosk that has no other.
	Server time.Time `json:"server"`
	// Hours are the cloud's counted service hours of the volunteers in the
	// batch, so the kiosk can show them offline later.
	Hours []CountedHours `json:"hours,omitempty"`
}

// CountedHours is a volunteer's service hours as the cloud counts them
// (flagged sessions not yet approved left out) as of a moment.
type CountedHours struct {
	Volunteer string    `json:"volunteer"`
	Hours     float64   `json:"hours"`
	AsOf      time.Time `json:"as_of"`
}

// Rejection names a record the gateway refused, and why.
type Rejection struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// ReaderHealth values reported in State.
const (
	ReaderOK      = "ok"
	ReaderFailing = "failing"
	ReaderAbsent  = "absent"
)

// State is a kiosk's retained report on stations/{id}/state. Its last will
// is the same message with Online false.
type State struct {
	V       int    `json:"v"`
	Station string `json:"station"`
	Online  bool   `json:"online"`
	// ConfigVersion is the version of the config the kiosk runs.
	ConfigVersion uint64 `json:"config_version"`
	// ConfigError says why the last config offered was refused.
	ConfigError string `json:"config_error,omitempty"`
	// FleetConfigVersion and FleetConfigError are the same for the fleet
	// defaults (fleet/config).
	FleetConfigVersion uint64 `json:"fleet_config_version,omitempty"`
	FleetConfigError   string `json:"fleet_config_error,omitempty"`
	Firmware           string `json:"firmware,omitempty"`
	Outbox             int    `json:"outbox"`
	Reader             string `json:"reader,omitempty"`
	// ReaderRecoveries is how many times the card reader's chip was reset
	// after it stopped answering, since the kiosk started.
	ReaderRecoveries int `json:"reader_recoveries,omitempty"`
	// Rejected is how many records the gateway refused (wire.Rejection)
	// that the kiosk holds aside for a person to look at.
	Rejected int   `json:"rejected,omitempty"`
	Clock    Clock `json:"clock"`
	// UpdateOffered is the firmware version last offered by a signed
	// update_offer command, recorded until the firmware work installs it.
	UpdateOffered string `json:"update_offered,omitempty"`
	// Update is the progress of the last firmware update: offered,
	// downloading (with bytes), verified, installed, trying, committed,
	// rolled_back or failed with the reason.
	Update *UpdateStatus `json:"update,omitempty"`
	// LastCommand says what became of the last command received: its name
	// and "ok" or the reason it was refused.
	LastCommand string `json:"last_command,omitempty"`
	// LastCommandNonce is the nonce of that command (read from its
	// payload even when the signature failed), so the cloud can tell which
	// command it sent the outcome belongs to.
	LastCommandNonce string `json:"last_command_nonce,omitempty"`
}

// Command is an instruction to one kiosk, always inside a signed Envelope.
// Nonce and Expires let the kiosk refuse a replayed or stale command.
type Command struct {
	V       int             `json:"v"`
	Station string          `json:"station"`
	Name    string          `json:"name"`
	Nonce   string          `json:"nonce"`
	Expires time.Time       `json:"expires"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// EncodeBatch marshals b, setting its version, and refuses a batch a
// gateway would refuse.
func EncodeBatch(b *Batch) ([]byte, error) {
	b.V = Version
	if err := b.validate(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: batch of %d bytes", ErrTooLarge, len(data))
	}
	return data, nil
}

// DecodeBatch parses a batch received on topic station's records topic.
// The batch as a whole must be well-formed, of this version, within limits
// and from the topic's station; a record that fails validation does not
// fail the batch but is returned in bad, so the gateway can store the rest
// and tell the kiosk which it refused.
func DecodeBatch(data []byte, station string) (b *Batch, bad []Rejection, err error) {
	b = new(Batch)
	if err := decode(data, b, &b.V); err != nil {
		return nil, nil, err
	}
	if b.Station != station {
		return nil, nil, fmt.Errorf("%w: batch says %q, topic says %q", ErrStationMismatch, b.Station, station)
	}
	if err := b.validate(); err != nil {
		return nil, nil, err
	}
	good := b.Records[:0]
	seen := make(map[string]bool, len(b.Records))
	for i := range b.Records {
		r := &b.Records[i]
		var rerr error
		switch {
		case seen[r.ID]:
			rerr = fmt.Errorf("%w: record %s repeated in one batch", ErrInvalid, r.ID)
		case r.Station != b.Station:
			rerr = fmt.Errorf("%w: record %s says station %q", ErrStationMismatch, r.ID, r.Station)
		default:
			rerr = r.Validate()
		}
		if rerr != nil {
			if ValidRecordID(r.ID) == nil && !seen[r.ID] {
				bad = append(bad, Rejection{ID: r.ID, Reason: rerr.Error()})
			}
			continue
		}
		seen[r.ID] = true
		good = append(good, *r)
	}
	b.Records = good
	if len(good) == 0 && len(bad) == 0 {
		return nil, nil, fmt.Errorf("%w: no record in the batch has a valid ID", ErrInvalid)
	}
	return b, bad, nil
}

func (b *Batch) validate() error {
	if !ValidStationID(b.Station) {
		return fmt.Errorf("%w: bad station ID %q", ErrInvalid, b.Station)
	}
	if len(b.Records) == 0 {
		return fmt.Errorf("%w: empty batch", ErrInvalid)
	}
	if len(b.Records) > MaxBatchRecords {
		return fmt.Errorf("%w: %d records, at most %d", ErrTooLarge, len(b.Records), MaxBatchRecords)
	}
	if b.Sent.Boot == "" {
		return fmt.Errorf("%w: batch without sending clock", ErrInvalid)
	}
	return nil
}

// EncodeAck marshals a.
func EncodeAck(a *Ack) ([]byte, error) {
	a.V = Version
	return json.Marshal(a)
}

// DecodeAck parses an ack received on station's ack topic.
func DecodeAck(data []byte, station string) (*Ack, error) {
	a := new(Ack)
	if err := decode(data, a, &a.V); err != nil {
		return nil, err
	}
	if a.Station != station {
		return nil, fmt.Errorf("%w: ack for %q on %q's topic", ErrStationMismatch, a.Station, station)
	}
	if len(a.IDs)+len(a.Rejected) > MaxAckIDs || len(a.Hours) > MaxAckIDs {
		return nil, fmt.Errorf("%w: ack of %d IDs and %d hours", ErrTooLarge, len(a.IDs)+len(a.Rejected), len(a.Hours))
	}
	return a, nil
}

// SealAck encodes a and signs it with the cloud's config key.
func SealAck(priv ed25519.PrivateKey, keyID string, a *Ack) ([]byte, error) {
	data, err := EncodeAck(a)
	if err != nil {
		return nil, err
	}
	return Seal(priv, keyID, data)
}

// OpenAck verifies a sealed ack received on station's ack topic against
// the trusted keys and decodes it. An unsigned ack, or one signed by a key
// not trusted, fails with ErrSignature.
func OpenAck(data []byte, station string, trusted map[string]ed25519.PublicKey) (*Ack, error) {
	payload, _, err := Open(data, trusted)
	if err != nil {
		return nil, err
	}
	return DecodeAck(payload, station)
}

// EncodeState marshals s.
func EncodeState(s *State) ([]byte, error) {
	s.V = Version
	return json.Marshal(s)
}

// DecodeState parses a state received on station's state topic.
func DecodeState(data []byte, station string) (*State, error) {
	s := new(State)
	if err := decode(data, s, &s.V); err != nil {
		return nil, err
	}
	if s.Station != station {
		return nil, fmt.Errorf("%w: state of %q on %q's topic", ErrStationMismatch, s.Station, station)
	}
	return s, nil
}

// DecodeCommand parses a command already taken out of its verified
// envelope, for station, and checks it has not expired at now.
func DecodeCommand(data []byte, station string, now time.Time) (*Command, error) {
	c := new(Command)
	if err := decode(data, c, &c.V); err != nil {
		return nil, err
	}
	if c.Station != station {
		return nil, fmt.Errorf("%w: command for %q sent to %q", ErrStationMismatch, c.Station, station)
	}
	if c.Name == "" || len(c.Nonce) < 8 || len(c.Nonce) > maxField || c.Expires.IsZero() {
		return nil, fmt.Errorf("%w: command needs name, nonce and expiry", ErrInvalid)
	}
	if !now.Before(c.Expires) {
		return nil, fmt.Errorf("%w: command %s expired at %s", ErrInvalid, c.Name, forPeople(c.Expires))
	}
	return c, nil
}

// chinaTime is China Standard Time (UTC+8, no daylight saving), where every
// station and its staff are; fixed, so it does not depend on the tzdata of
// the machine that formats it.
var chinaTime = time.FixedZone("CST", 8*3600)

// forPeople formats t for a reason a person reads (the kiosk's log, the
// console's command status): RFC 3339 in China Standard Time, so it reads
// as the local clock and still names the same instant, whatever zone the
// machine that refused the command runs in.
func forPeople(t time.Time) string { return t.In(chinaTime).Format(time.RFC3339) }

// decode unmarshals data into msg after the size check, and checks the
// schema version msg's v field received.
func decode(data []byte, msg any, v *int) error {
	if len(data) > MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(msg); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the message", ErrMalformed)
	}
	if *v != Version {
		return fmt.Errorf("%w: v=%d, this side speaks v=%d", ErrVersion, *v, Version)
	}
	return nil
}
