package api

import (
	"time"

	"leifeng/cloud/fleet"
	"leifeng/cloud/store"
	"leifeng/gateway/ingest"
)

// Times in the API: stored and computed in UTC, written in China Standard
// Time. A time in a response is RFC 3339 with the +08:00 offset, so it is
// the same instant to any program that parses it and the local time to a
// person who reads it (a record at 09:31 in 思茅区 reads 09:31, not 01:31).
// That is one field per time instead of a second *_local copy of each.

// local is t in China Standard Time; the zero time stays zero (omitted).
func local(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(fleet.CST)
}

func localCommand(c *fleet.CommandStatus) *fleet.CommandStatus {
	c.Sent, c.Expires = local(c.Sent), local(c.Expires)
	return c
}

// localEntries writes records' times in China Standard Time.
func localEntries(es []ingest.Entry) {
	for i := range es {
		e := &es[i]
		e.At, e.Time, e.Received = local(e.At), local(e.Time), local(e.Received)
	}
}

// localHours writes a volunteer's session times in China Standard Time.
func localHours(h *store.Hours) {
	for i := range h.List {
		s := &h.List[i]
		s.Start, s.End = local(s.Start), local(s.End)
	}
}
