// Package reader turns a card in the NFC field into a Tap: who tapped, with
// which credential, or a typed error saying why the card was refused.
//
// Reader polls an MFRC522 and emits one Event per presentation; Read reads
// and verifies one selected card; ReadImage does the same for a card image
// on the simulated chip, for the kiosk's simulated reader; Write issues a
// card image onto a blank card.
//
// The subpackages hold the parts: mfrc522 (the driver on periph's SPI and
// GPIO), iso14443 (CRC_A and ISO-DEP), chipsim (a register-level MFRC522
// and card simulator for tests and demos), credential (the signed
// 普洱市志愿服务证 payload, its placement on each card type, SUN checks),
// ndef (NDEF messages and TLVs) and cardimage (the card image file).
package reader
