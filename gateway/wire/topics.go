package wire

import (
	"fmt"
	"regexp"
	"strings"
)

// Prefix is the root of every topic this protocol uses.
const Prefix = "leifeng/v1"

// Topic leaves under stations/{id}/.
const (
	LeafRecords  = "records"
	LeafAck      = "ack"
	LeafConfig   = "config"
	LeafState    = "state"
	LeafCommands = "commands"
)

// FleetConfigTopic carries the signed fleet defaults, retained.
const FleetConfigTopic = Prefix + "/fleet/config"

// SharedRecordsFilter is the subscription gateways share so that several of
// them split the stations' record traffic between them.
const SharedRecordsFilter = "$share/leifeng-gateway/" + Prefix + "/stations/+/" + LeafRecords

// AllStatesFilter matches every station's retained state.
const AllStatesFilter = Prefix + "/stations/+/" + LeafState

var stationRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// ValidStationID reports whether id is a well-formed station ID: 1 to 64
// lowercase letters, digits and inner hyphens, e.g. "pe-simao-001". The form
// keeps IDs safe inside topics, file names and SQL identifiers alike.
func ValidStationID(id string) bool { return stationRE.MatchString(id) }

// StationTopic returns the topic leaf under station id's own subtree.
func StationTopic(id, leaf string) string {
	return Prefix + "/stations/" + id + "/" + leaf
}

// ParseStationTopic splits a topic under stations/{id}/ into the station ID
// and the leaf. It refuses topics outside that tree and malformed IDs.
func ParseStationTopic(topic string) (station, leaf string, err error) {
	rest, ok := strings.CutPrefix(topic, Prefix+"/stations/")
	if !ok {
		return "", "", fmt.Errorf("%w: topic %q is not under %s/stations/", ErrInvalid, topic, Prefix)
	}
	station, leaf, ok = strings.Cut(rest, "/")
	if !ok || strings.Contains(leaf, "/") || leaf == "" {
		return "", "", fmt.Errorf("%w: topic %q has no single leaf", ErrInvalid, topic)
	}
	if !ValidStationID(station) {
		return "", "", fmt.Errorf("%w: bad station ID %q in topic", ErrInvalid, station)
	}
	return station, leaf, nil
}
