package hours

import (
	"context"
	"testing"

	"leifeng/cloud/store"
)

// Travel between stations registered with their community only (no
// county of their own): the counties are their communities', so 思茅 and
// 宁洱 are far apart (10 minutes is too quick); a station known only by
// its county's name is compared by that name, as before, so nothing is
// raised against it from a station with a community.
func TestPassTravelCountyOfCommunity(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		setup(t, st)
		for _, s := range []store.Registration{
			{ID: "c1", Name: "振兴社区第二服务点", Community: comm1, SecretHash: "x"},
			{ID: "c3", Name: "西门社区第二服务点", Community: comm3, SecretHash: "x"},
			{ID: "named", Name: "思茅区流动服务点", County: "思茅区", SecretHash: "x"},
		} {
			if err := st.AddStation(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		c1, c3, named := &kiosk{station: "c1"}, &kiosk{station: "c3"}, &kiosk{station: "named"}
		d := "2026-11-03"
		ingestAll(t, st,
			c1.session("v-far", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			c3.session("v-far", cst(d, "10:10"), cst(d, "11:00"), false, 0),
			c1.session("v-named", cst(d, "09:00"), cst(d, "10:00"), false, 0),
			named.session("v-named", cst(d, "10:10"), cst(d, "11:00"), false, 0),
		)
		if _, err := Pass(ctx, st, cst(d, "20:00")); err != nil {
			t.Fatal(err)
		}
		r := records(t, st, "v-far")
		want(t, r[0], 100, store.StatusNotice, []string{}, "", "c1", orgA, comm1)
		want(t, r[1], 100, store.StatusReview, []string{ReasonTravel}, ReviewStation, "c3", "", comm3)
		r = records(t, st, "v-named")
		want(t, r[1], 100, store.StatusNotice, []string{}, "", "named", "", "")
	})
}
