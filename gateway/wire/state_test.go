package wire

import "testing"

// TestStateCarriesCounts: the reader's recoveries and the records the
// gateway refused reach the cloud in the reported state.
func TestStateCarriesCounts(t *testing.T) {
	b, err := EncodeState(&State{Station: "s-1", Online: true, ReaderRecoveries: 3, Rejected: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeState(b, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.ReaderRecoveries != 3 || s.Rejected != 2 {
		t.Fatalf("state %s decoded as recoveries %d rejected %d", b, s.ReaderRecoveries, s.Rejected)
	}
}
