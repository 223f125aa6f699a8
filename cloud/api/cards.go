package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"leifeng/cloud/cards"
	"leifeng/cloud/store"
)

// The card desk (package cards):
//
//	POST /api/v1/volunteers/{id}/cards    {"uid","media","expires"} → {"card", "write"}
//	GET  /api/v1/volunteers/{id}/cards    → {"volunteer", "cards"}
//	POST /api/v1/cards/{serial}/revoke    {"reason","lost"} → {"card","config","push_error"}
//	POST /api/v1/cards/{serial}/reissue   {"uid","media","expires","reason","lost"} → {"card","write","old"}
//
// "write" is a reader.CredentialFile: save it and run `leifeng-card write
// -in FILE` at the desk with the reader and the blank card.
func (a *api) cardRoutes(mux *router) {
	mux.HandleFunc("POST /api/v1/volunteers/{id}/cards", a.change("card.issue", a.cardVolunteerInScope(a.issueCard)))
	mux.HandleFunc("GET /api/v1/volunteers/{id}/cards", a.read("cards.read", volunteerPath, a.cardVolunteerInScope(a.volunteerCards)))
	mux.HandleFunc("POST /api/v1/cards/{serial}/revoke", a.change("card.revoke", a.cardInScope(a.revokeCard)))
	mux.HandleFunc("POST /api/v1/cards/{serial}/reissue", a.change("card.reissue", a.cardInScope(a.reissueCard)))
}

// cardVolunteerInScope answers 404, as for an unknown volunteer, unless
// the volunteer {id} is in the user's scope.
func (a *api) cardVolunteerInScope(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		ok, err := a.volunteerVisible(r, id)
		if err == nil && !ok {
			err = fmt.Errorf("%w: volunteer %s", store.ErrNotFound, id)
		}
		if err != nil {
			a.failCards(w, "volunteer "+id, err)
			return
		}
		noteChange(r, "volunteer "+id, nil, nil)
		h(w, r)
	}
}

// cardInScope answers 404, as for an unknown card, unless the volunteer
// of the card {serial} is in the user's scope.
func (a *api) cardInScope(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		serial := r.PathValue("serial")
		c, err := a.f.Store.Card(r.Context(), serial)
		if err == nil {
			var ok bool
			if ok, err = a.volunteerVisible(r, c.Volunteer); err == nil && !ok {
				err = fmt.Errorf("%w: card %s", store.ErrNotFound, serial)
			}
		}
		if err != nil {
			a.failCards(w, "card "+serial, err)
			return
		}
		noteChange(r, "card "+serial, nil, map[string]string{"volunteer": c.Volunteer})
		h(w, r)
	}
}

func cardPath(r *http.Request) string { return "card " + r.PathValue("serial") }

// cardRequest is the body of issue and reissue.
type cardRequest struct {
	cards.Request
	Reason string `json:"reason"`
	Lost   bool   `json:"lost"`
}

func (a *api) decodeCardRequest(w http.ResponseWriter, r *http.Request) (*cardRequest, bool) {
	req := new(cardRequest)
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	// An empty body is an empty request (a revoke without a reason).
	if err := dec.Decode(req); err != nil && !errors.Is(err, io.EOF) {
		a.failCards(w, "bad request", &cards.InputError{Field: "body", Msg: err.Error(),
			Zh: "请求内容有误：请发送 JSON，例如 {\"uid\":\"04A23B1C558091\",\"media\":\"ntag215\",\"expires\":\"2029-12-31\"}。"})
		return nil, false
	}
	return req, true
}

func (a *api) issueCard(w http.ResponseWriter, r *http.Request) {
	req, ok := a.decodeCardRequest(w, r)
	if !ok {
		return
	}
	who, _ := whoFrom(r.Context())
	out, err := a.f.Cards.Issue(r.Context(), r.PathValue("id"), req.Request, who)
	if err != nil {
		a.failCards(w, "cannot issue the card", err)
		return
	}
	noteChange(r, "volunteer "+r.PathValue("id"), nil, map[string]any{"card": out.Card.Serial, "expires": out.Card.Expires})
	writeJSON(w, out)
}

func (a *api) volunteerCards(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cs, err := a.f.Cards.Cards(r.Context(), id)
	if err != nil {
		a.failCards(w, "cannot list the cards", err)
		return
	}
	writeJSON(w, map[string]any{"volunteer": id, "cards": cs})
}

func (a *api) revokeCard(w http.ResponseWriter, r *http.Request) {
	req, ok := a.decodeCardRequest(w, r)
	if !ok {
		return
	}
	who, _ := whoFrom(r.Context())
	out, err := a.f.Cards.Revoke(r.Context(), r.PathValue("serial"), req.Reason, req.Lost, who)
	if err != nil {
		a.failCards(w, "cannot revoke the card", err)
		return
	}
	noteChange(r, "card "+r.PathValue("serial"), map[string]any{"state": "active"},
		map[string]any{"state": out.Card.State, "reason": req.Reason, "lost": req.Lost, "config": out.Config})
	writeJSON(w, out)
}

func (a *api) reissueCard(w http.ResponseWriter, r *http.Request) {
	req, ok := a.decodeCardRequest(w, r)
	if !ok {
		return
	}
	who, _ := whoFrom(r.Context())
	issued, old, err := a.f.Cards.Reissue(r.Context(), r.PathValue("serial"), req.Request, req.Reason, req.Lost, who)
	if err != nil {
		a.failCards(w, "cannot re-issue the card", err)
		return
	}
	noteChange(r, "card "+r.PathValue("serial"), map[string]any{"state": "active"},
		map[string]any{"state": old.Card.State, "reason": req.Reason, "lost": req.Lost, "new_card": issued.Card.Serial})
	writeJSON(w, map[string]any{"card": issued.Card, "write": issued.Write, "old": old})
}

// failCards answers a card desk request that went wrong, with the reason
// in English (error) and in Chinese (message_zh, what the console shows).
func (a *api) failCards(w http.ResponseWriter, what string, err error) {
	code, zh := cards.Refusal(err)
	if code >= 500 {
		zh = "操作失败，请稍后重试；如仍失败，请联系系统管理员查看云端日志。"
	}
	msg := what + ": " + err.Error()
	if code >= 500 {
		a.log.Error(msg, "err", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg, "message_zh": zh})
}
