package hours

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"leifeng/cloud/store"
)

// failHooks makes every service-record change fail (a rollup hook that
// refuses), as a database error in the middle of a pass would.
var failHooks atomic.Bool

func init() {
	store.RegisterRollupHook(func(context.Context, store.Querier, *store.ServiceRecord, *store.ServiceRecord) error {
		if failHooks.Load() {
			return errors.New("rollup refused (test)")
		}
		return nil
	})
}

// A pass that fails writes nothing and gives its claimed days back; the
// next pass makes the records.
func TestPassFailureGivesBack(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		k := &kiosk{station: "s1"}
		d := "2026-11-03"
		ingestAll(t, st, k.session("v1", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			k.session("v2", cst(d, "09:00"), cst(d, "10:00"), true, 0))
		failHooks.Store(true)
		_, err := Pass(ctx, st, cst(d, "20:00"))
		failHooks.Store(false)
		if err == nil {
			t.Fatal("the pass did not fail")
		}
		if n, _ := st.DirtyCount(ctx); n != 2 {
			t.Fatalf("%d dirty days after the failed pass, want 2", n)
		}
		if rs := records(t, st, "v1"); len(rs) != 0 {
			t.Fatalf("a failed pass wrote %+v", rs)
		}
		res, err := Pass(ctx, st, cst(d, "20:00"))
		if err != nil || res.Created != 2 {
			t.Fatalf("second pass: %+v %v", res, err)
		}
		if n, _ := st.DirtyCount(ctx); n != 0 {
			t.Fatalf("%d dirty days left", n)
		}
	})
}
