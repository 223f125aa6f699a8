package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"

	"leifeng/gateway/ingest"
	"leifeng/gateway/wire"
)

// Ingest keeps a check-in's chosen activity and marks the volunteer-days
// of check-ins and check-outs (the check-out's own day) in hours_dirty,
// in the records' transaction: a batch refused leaves no mark. A claim
// takes the marks out; a tap after it marks again; MarkDirty gives them
// back.
func TestHoursDirty(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, be.dsn(t))
			// t0 is 16:00 CST on 5 March; minute 600 is 02:00 on the 6th.
			in := rec("s1", 1, wire.KindCheckIn, "v1", "", 0)
			in.Activity = 42
			out := rec("s1", 2, wire.KindCheckOut, "v1", in.ID, 600)
			order := rec("s1", 3, wire.KindOrderStart, "v2", in.ID, 5)
			order.Order = "o-1"
			mustIngest(t, s, []ingest.Entry{in, out, order})
			got, err := s.Records(ctx, "s1", 0, 10)
			if err != nil || len(got) != 3 || got[0].Activity != 42 || got[1].Activity != 0 {
				t.Fatalf("records: %+v %v", got, err)
			}
			claim, err := s.ClaimDirty(ctx, 10)
			want := []DirtyDay{{"v1", "2025-03-05"}, {"v1", "2025-03-06"}}
			slices.SortFunc(claim, func(a, b DirtyDay) int {
				return cmp.Or(strings.Compare(a.Volunteer, b.Volunteer), strings.Compare(a.Day, b.Day))
			})
			if err != nil || !slices.Equal(claim, want) {
				t.Fatalf("claim: %v %v, want %v", claim, err, want)
			}
			if n, _ := s.DirtyCount(ctx); n != 0 {
				t.Fatalf("%d left after the claim", n)
			}
			// A refused batch stores nothing and marks nothing.
			bad := rec("s1", 4, wire.KindCheckIn, "v3", "", 10)
			bad.Seq = 1 << 63
			if _, err := s.Ingest(ctx, []ingest.Entry{rec("s1", 5, wire.KindCheckIn, "v4", "", 10), bad}); err == nil {
				t.Fatal("a record out of range was stored")
			}
			if n, _ := s.DirtyCount(ctx); n != 0 {
				t.Fatalf("a refused batch left %d marks", n)
			}
			if err := s.MarkDirty(ctx, claim); err != nil {
				t.Fatal(err)
			}
			mustIngest(t, s, []ingest.Entry{rec("s1", 6, wire.KindCheckIn, "v1", "", 20)})
			if n, _ := s.DirtyCount(ctx); n != 2 {
				t.Fatalf("%d marks, want 2 (the same days again)", n)
			}
		})
	}
}
