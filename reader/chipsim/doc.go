// Package chipsim is a register-level NXP MFRC522 (datasheet MFRC522 rev.
// 3.9, https://www.nxp.com/docs/en/data-sheet/MFRC522.pdf) with ISO/IEC
// 14443A cards in its field, for tests, benchmarks and kiosk demos.
//
// A Chip implements periph's spi.Port and spi.Conn with the MFRC522's SPI
// framing (address byte (addr<<1)|0x80 to read, addr<<1 to write, bursts),
// its 64-byte FIFO, the commands Idle, Mem, Generate RandomID, CalcCRC,
// Transmit, Receive, Transceive, MFAuthent and SoftReset, the interrupt
// request registers and the IRQ pin (a gpio.PinIn), the NRSTPD reset pin (a
// gpio.PinOut), the timer (TAuto), and the error, collision and status
// registers. Any driver written against the datasheet should work
// unchanged, including periph's own mfrc522 package.
//
// Cards placed in the field answer the ISO/IEC 14443-3 type A
// initialisation (REQA, WUPA, anticollision and SELECT on cascade levels
// 1-3, HLTA) and then speak their own command set:
//
//   - MIFARE Classic 1K (MF1S50): three-pass authentication with the real
//     Crypto1 cipher on both sides (checked against a published trace),
//     nested authentication, the access conditions of the sector trailers,
//     READ and WRITE, all encrypted on the simulated air. As on the real
//     chip, MFCrypto1On encrypts every frame, REQA included, and a card in
//     a session that receives a frame in clear takes it for noise and
//     falls back to IDLE. Parity bits are not modelled.
//   - NTAG213/215/216: GET_VERSION, READ, FAST_READ, READ_SIG, READ_CNT,
//     WRITE.
//   - NTAG 424 DNA: RATS/ATS (frames inside the start-up guard time SFGT
//     are not seen) and ISO-DEP (I-, R- and S-blocks, chaining both ways,
//     retransmission, WTX), ISO SELECT of the NDEF application and files,
//     ReadBinary, and Secure Dynamic Messaging: the SUN message (encrypted
//     PICC data with UID and read counter, SDM MAC) mirrored into the NDEF
//     file on each read, per NXP AN12196.
//
// Faults are injected on demand: a card pulled mid-read, corrupted replies
// (CRC errors), bit collisions from several cards, a slow card asking for
// waiting time extensions, a chip that stops answering until its reset pin
// is pulsed.
//
// # Timing model
//
// The chip keeps a modelled clock, never wall time: every SPI transfer costs
// its bytes at the connection's clock plus a fixed per-transfer overhead,
// every RF frame its air time at 106 kbit/s (9 bits per byte with parity,
// plus start and end of frame), every card reply its frame delay time or
// processing time, and a command nobody answers costs the chip timer's
// timeout. A command's results (FIFO, interrupt bits) become visible only
// when the modelled clock reaches its end: a driver that polls registers
// pays for its polling, one that waits on the IRQ pin jumps to the event.
// Now reports the clock, so benchmarks give deterministic latencies.
package chipsim
