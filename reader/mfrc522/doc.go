// Package mfrc522 drives an NXP MFRC522 contactless reader IC (the chip on
// the common "RC522" modules) over SPI, and speaks ISO/IEC 14443A to the
// cards in its field: REQA/WUPA, anticollision and SELECT on cascade levels
// 1-3, HLTA, MIFARE Classic authentication and block access, the NTAG21x
// command set, and ISO/IEC 14443-4 (ISO-DEP) for NTAG 424 DNA.
//
// # Datasheet
//
// https://www.nxp.com/docs/en/data-sheet/MFRC522.pdf
//
// Compared with periph.io/x/devices/v3/mfrc522, this driver initialises the
// chip once and keeps a card selected while it reads everything needed,
// batches register writes into one spidev ioctl (spi.Conn.TxPackets),
// reads bursts of registers and the whole FIFO in one transfer, waits on the
// IRQ pin when it is wired, keeps replies up to the FIFO's 64 bytes, and
// recovers a hung chip by pulsing its reset pin.
package mfrc522
