// Package e2e tests the whole system as it is deployed: the real
// leifeng-cloud and leifeng-kiosk binaries as separate processes, on the
// embedded broker and on Mosquitto, on SQLite and on PostgreSQL, through
// power cuts, broker and gateway restarts, database restarts, bad input and
// wrong clocks. The only simulated part is the card reader.
package e2e
