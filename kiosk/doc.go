// Package kiosk is the station program that runs on the Raspberry Pi at a
// 学雷锋志愿服务站: it turns reader taps into check-in and check-out
// records, keeps them in a bbolt outbox and sends them to the cloud.
//
// The parts live in subpackages, one concern each:
//
//   - clock: the kiosk's clocks (wall, CLOCK_BOOTTIME, boot ID, NTP sync)
//   - store: the bbolt file (outbox, open sessions, rejected records)
//   - attendance: the check-in/check-out rules
//   - uplink: the MQTT link that drains the outbox and reports state
//   - simreader: a TCP stand-in for the card reader, for tests and demos
//   - station: the whole station wired together, Run(ctx, Options)
//
// The binary is cmd/leifeng-kiosk: its flags become station.Options, and
// it opens the real reader (reader/board).
package kiosk
