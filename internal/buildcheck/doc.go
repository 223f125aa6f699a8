// Package buildcheck holds the tests of the build itself, which `make
// test` runs like any other: every binary carries its version, dependencies
// point one way (only the binaries open hardware; a kiosk's rules link
// neither periph's host drivers nor the chip simulator), the code builds
// for a developer's Mac and Windows machine, and the headless kiosk
// cross-builds for the Raspberry Pi without cgo. `make bench` runs its
// memory benchmark of the headless kiosk.
//
// The package has no code of its own: only tests, which shell out to go
// and make in the module's root.
package buildcheck
