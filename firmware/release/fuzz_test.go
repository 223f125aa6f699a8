package release

import (
	"bytes"
	"io"
	"testing"
)

// FuzzWalk: no bundle makes Walk panic or hand fn a member outside the
// manifest's safe names.
func FuzzWalk(f *testing.F) {
	f.Add(evilBundle("leifeng-kiosk"))
	f.Add(evilBundle("../x"))
	f.Add([]byte("manifest.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Walk(bytes.NewReader(data), func(fl File, r io.Reader) error {
			if err := checkName(fl.Name); err != nil {
				t.Fatalf("walk handed out %q", fl.Name)
			}
			io.Copy(io.Discard, r)
			return nil
		})
	})
}
