// Package reader turns a card in the NFC field into a Tap: who tapped, with
// which credential, or a typed error saying why the card was refused.
//
// The subpackages hold the parts: mfrc522 (the driver on periph's SPI and
// GPIO), chipsim (a register-level MFRC522 and card simulator for tests and
// demos) and credential (the signed 普洱市志愿服务证 payload).
package reader
