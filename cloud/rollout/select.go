package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"leifeng/cloud/store"
)

// buckets is the resolution of a percentage: 0.01%.
const buckets = 10000

// bucket places station in [0, buckets) for release, by SHA-256: stable
// across runs, machines and versions of Go, and spread evenly.
func bucket(station, release string) uint64 {
	h := sha256.Sum256([]byte(release + "\x00" + station))
	return binary.BigEndian.Uint64(h[:8]) % buckets
}

// Selected reports whether percent (0 to 100) of the fleet, chosen by a
// stable hash of station and release, includes station. A station
// selected at some percentage is selected at every higher one.
func Selected(station, release string, percent float64) bool {
	return float64(bucket(station, release)) < percent*buckets/100
}

// PhaseOf returns the first of phases that takes station for release, or
// -1 if none does.
func PhaseOf(phases []store.RolloutPhase, station, release string) int {
	for i, p := range phases {
		if slices.Contains(p.Stations, station) || (p.Percent > 0 && Selected(station, release, p.Percent)) {
			return i
		}
	}
	return -1
}
