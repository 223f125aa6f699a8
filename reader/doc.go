// Package reader turns a card in the NFC field into a Tap: who tapped, with
// which credential, or a typed error saying why the card was refused.
//
// Reader polls an MFRC522 and emits one Event per presentation; Read reads
// and verifies one selected card. The package takes an opened device and
// never opens hardware itself, nor links the simulator: a kiosk's rules
// depend on it without pulling in periph's host drivers or chipsim.
//
// The subpackages hold the parts: mfrc522 (the driver on periph's SPI and
// GPIO), board (opens the MFRC522 wired to a Raspberry Pi; for binaries
// only), iso14443 (CRC_A and ISO-DEP), chipsim (a register-level MFRC522
// and card simulator for tests and demos), cardimage (the card image file,
// read through chipsim for the kiosk's simulated reader, written onto a
// blank card), credential (the signed 普洱市志愿服务证 payload, its
// placement on each card type, SUN checks) and ndef (NDEF messages and
// TLVs).
package reader
