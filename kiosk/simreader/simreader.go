// Package simreader stands in for the card reader until the real one is
// wired in: a TCP listener that takes one JSON object per line, turns it
// into a reader.Tap (or a service request), hands it to the attendance
// rules and writes back one JSON line saying whether the tap was confirmed.
// Tests and the demo use the reply to know exactly which taps the kiosk
// confirmed.
//
// Requests, one per line:
//
//	{"volunteer":"V0001"}                                  a tap; card "SIM-V0001" (see CardsOnly)
//	{"volunteer":"V0001","card":"C123","service":"家政"}   with card serial and menu item
//	{"volunteer":"V0001","activity":7}                     a check-in for activity 7 of the station's document
//	{"kind":"service_request","service":"家政","phone":"138…","note":"…"}
//	{"kind":"order_start","order":"XQ-0042","volunteer":"V0001","check_in":"<record id>"}
//	{"kind":"order_rating","order":"XQ-0042","phone":"5678","rating":5,"note":"准时到达"}
//	{"image":{…}}                                          a card image (see ImageDecoder)
//
// Replies, one per request, in order:
//
//	{"ok":true,"kind":"check_in","id":"<record id>","seq":1,"repeat":false,"seconds":0,"volunteer":"V0001"}
//	{"ok":true,"kind":"check_out","id":"…","seq":2,"repeat":false,"seconds":123.4,"volunteer":"V0001","check_in":"<id>"}
//	{"ok":false,"error":"storage","reason":"disk_full","message":"<the catalogue's sentence for disk_full>"}
//
// "seconds" is the session length of a check-out; "auto_check_out" names
// the record that closed an overlong session before a fresh check-in.
// Error codes: "storage" (not stored; "reason" is disk_full or storage),
// "invalid" (the tap cannot be a record), "bad_request" (not a request),
// "unsupported" (a card image and no decoder), "card" (the card was
// refused; "reason" is the reader.Code of why: forged, expired,
// not_yet_valid, revoked, unreadable, several_cards, unsupported,
// reader_fault, or unsigned for a bare volunteer tap on a kiosk that checks
// cards), "internal". "message" is the kiosk catalogue's Chinese sentence
// for the reason (package catalog), the same words the screen shows.
package simreader

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"leifeng/gateway/wire"
	"leifeng/kiosk/attendance"
	"leifeng/kiosk/ui/catalog"
	"leifeng/reader"
)

// Media is the reader.Tap media of a simulated tap.
const Media = "sim"

// maxLine bounds a request; a card image dump fits easily.
const maxLine = 1 << 20

// Book is what the simulated reader needs of the attendance rules.
type Book interface {
	TapService(ctx context.Context, t reader.Tap, service string) (attendance.Result, error)
	TapChoice(ctx context.Context, t reader.Tap, c attendance.Choice) (attendance.Result, error)
	Request(ctx context.Context, req attendance.ServiceRequest) (attendance.Result, error)
	Order(ctx context.Context, a attendance.OrderAction) (attendance.Result, error)
}

// ImageDecoder is the extension point for card images: it takes the raw
// "image" object of a request (a dump of a simulated card's memory, in the
// reader's format) and returns the tap the real reader would produce from
// it, reading and verifying the credential through the real driver against
// the chip simulator. Its error is shown to the person as a card error.
type ImageDecoder func(ctx context.Context, image json.RawMessage) (reader.Tap, error)

// Request is one line sent to the simulated reader.
type Request struct {
	Kind      string `json:"kind,omitempty"`
	Volunteer string `json:"volunteer,omitempty"`
	Card      string `json:"card,omitempty"`
	Service   string `json:"service,omitempty"`
	// Activity is the activity chosen for a check-in (0: none).
	Activity int64  `json:"activity,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Note     string `json:"note,omitempty"`
	// Order, CheckIn and Rating belong to order_start and order_rating
	// (Phone holds the last four digits of the resident's phone there).
	Order   string `json:"order,omitempty"`
	CheckIn string `json:"check_in,omitempty"`
	Rating  int    `json:"rating,omitempty"`
	// Image is a card image for the ImageDecoder.
	Image json.RawMessage `json:"image,omitempty"`
}

// Reply is one line written back.
type Reply struct {
	OK        bool    `json:"ok"`
	Kind      string  `json:"kind,omitempty"`
	ID        string  `json:"id,omitempty"`
	Seq       uint64  `json:"seq,omitempty"`
	Repeat    bool    `json:"repeat"`
	Seconds   float64 `json:"seconds"`
	Volunteer string  `json:"volunteer,omitempty"`
	// Name is the masked display name the card's credential carries
	// (what the kiosk greets with when its roster does not list the
	// volunteer); empty for a card without one and for bare taps.
	Name         string `json:"name,omitempty"`
	CheckIn      string `json:"check_in,omitempty"`
	AutoCheckOut string `json:"auto_check_out,omitempty"`
	Error        string `json:"error,omitempty"`
	// Reason refines an error with its stable code: for "card" the
	// reader.Code (forged, expired, not_yet_valid, revoked, unreadable,
	// several_cards, unsupported, reader_fault) or unsigned (a bare
	// volunteer tap on a kiosk that checks cards); for "storage" and
	// "invalid" the attendance.Code.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Option configures a Server.
type Option func(*Server)

// CardsOnly makes the reader refuse bare {"volunteer":…} taps, which carry
// no signed credential, whenever checking reports true: a kiosk passes a
// function that says whether it has card-issuer keys, so that once it can
// check real cards nobody can tap in as any volunteer by typing an ID. A
// refused bare tap is a "card" error with reason "unsigned".
func CardsOnly(checking func() bool) Option { return func(s *Server) { s.cardsOnly = checking } }

// Server is a listening simulated reader.
type Server struct {
	ln        net.Listener
	book      Book
	images    ImageDecoder
	log       *slog.Logger
	cardsOnly func() bool

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// Listen starts listening on addr (host:port). images may be nil: card
// images are then refused as unsupported.
func Listen(addr string, book Book, images ImageDecoder, log *slog.Logger, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simreader: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Server{ln: ln, book: book, images: images, log: log, conns: make(map[net.Conn]bool)}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Addr is the address the reader listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until ctx is done, then closes the listener
// and every connection and waits for their goroutines. A request already
// handed to the Book finishes (its reply may not reach a closed
// connection). It returns ctx's error, or the accept error that stopped it.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	defer s.wg.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.ln.Close()
			return fmt.Errorf("simreader: accept: %w", err)
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serveConn(ctx, c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		})
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	w := bufio.NewWriter(c)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		rep := s.handle(ctx, sc.Bytes())
		if err := enc.Encode(rep); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		s.log.Warn("sim reader connection dropped", "remote", c.RemoteAddr().String(), "err", err)
	}
}

func (s *Server) handle(ctx context.Context, line []byte) Reply {
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Reply{Error: "bad_request", Reason: catalog.CodeBadRequest, Message: catalog.Sentence(catalog.Zh, catalog.CodeBadRequest, err)}
	}
	if req.Kind == string(wire.KindServiceRequest) {
		res, err := s.book.Request(ctx, attendance.ServiceRequest{
			Service: req.Service, Phone: req.Phone, Note: req.Note, Volunteer: req.Volunteer,
		})
		return reply(res, err)
	}
	if req.Kind == string(wire.KindOrderStart) || req.Kind == string(wire.KindOrderRating) {
		res, err := s.book.Order(ctx, attendance.OrderAction{Kind: wire.Kind(req.Kind), Order: req.Order,
			Volunteer: req.Volunteer, CheckIn: req.CheckIn, Digits: req.Phone, Rating: req.Rating, Comment: req.Note})
		return reply(res, err)
	}
	if req.Kind != "" {
		return Reply{Error: "bad_request", Reason: catalog.CodeUnknownRequest, Message: catalog.Sentence(catalog.Zh, catalog.CodeUnknownRequest, req.Kind)}
	}
	var t reader.Tap
	switch {
	case len(req.Image) > 0 && s.images == nil:
		return Reply{Error: "unsupported", Reason: catalog.CodeNoCardImages, Message: catalog.Sentence(catalog.Zh, catalog.CodeNoCardImages)}
	case len(req.Image) > 0:
		var err error
		if t, err = s.images(ctx, req.Image); err != nil {
			code := reader.Code(err)
			s.log.Info("card refused", "code", code, "err", err)
			return Reply{Error: "card", Reason: code, Message: catalog.Sentence(catalog.Zh, code)}
		}
	case s.cardsOnly != nil && s.cardsOnly():
		s.log.Info("bare volunteer tap refused: this kiosk checks card credentials", "code", catalog.CodeUnsigned)
		return Reply{Error: "card", Reason: catalog.CodeUnsigned, Message: catalog.Sentence(catalog.Zh, catalog.CodeUnsigned)}
	default:
		t = reader.Tap{Volunteer: req.Volunteer, Card: req.Card, Media: Media, At: time.Now()}
		if t.Card == "" && t.Volunteer != "" {
			t.Card = "SIM-" + t.Volunteer
		}
	}
	res, err := s.book.TapChoice(ctx, t, attendance.Choice{Service: req.Service, Activity: req.Activity})
	rep := reply(res, err)
	if rep.OK {
		rep.Name = t.Name
	}
	return rep
}

func reply(res attendance.Result, err error) Reply {
	if err != nil {
		kind := "internal"
		switch {
		case errors.Is(err, attendance.ErrStorage):
			kind = "storage"
		case errors.Is(err, attendance.ErrInvalidTap):
			kind = "invalid"
		}
		code := attendance.Code(err)
		return Reply{Error: kind, Reason: code, Message: catalog.Sentence(catalog.Zh, code)}
	}
	return Reply{
		OK: true, Kind: string(res.Kind), ID: res.ID, Seq: res.Seq, Repeat: res.Repeat,
		Seconds: res.Duration.Seconds(), Volunteer: res.Volunteer,
		CheckIn: res.CheckIn, AutoCheckOut: res.AutoCheckOut,
	}
}
