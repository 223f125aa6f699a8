package tryboot

import "testing"

// FuzzParseAutoboot: whatever autoboot.txt holds, a parsed one round-trips.
func FuzzParseAutoboot(f *testing.F) {
	f.Add([]byte("[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n"))
	f.Add([]byte("[tryboot]\nboot_partition=x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAutoboot(data)
		if err != nil {
			return
		}
		b, err := ParseAutoboot(a.Format())
		if err != nil || b != a {
			t.Fatalf("%+v does not round-trip: %+v %v", a, b, err)
		}
	})
}
