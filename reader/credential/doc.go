// Package credential is the signed payload of the 普洱市志愿服务证 (the Pu'er
// volunteer card): its binary layout, its Ed25519 signature, the offline
// checks a kiosk makes (issuer key, signature, card UID, revocation,
// expiry), its placement on each supported card, and the NTAG 424 DNA SUN
// (Secure Unique NFC) message check the cloud uses to catch cloned cards.
//
// # Layout, version 1
//
//	offset size  field
//	0      1     version (1)
//	1      2     issuer key ID, big endian
//	3      1     UID length n (4, 7 or 10)
//	4      n     card UID, as read in anticollision
//	4+n    1     volunteer ID length v (1..64)
//	5+n    v     volunteer ID, UTF-8
//	..     1     serial length s (1..32)
//	..     s     credential serial, UTF-8
//	..     2     issued date, days since 1970-01-01, big endian
//	..     2     expiry date, days since 1970-01-01, big endian (valid through
//	             the end of that day, China Standard Time)
//	..     64    Ed25519 signature over "leifeng-card-v1" || all bytes above
//
// # Layout, version 2
//
// Version 2 is version 1 with the volunteer's masked display name (张*明)
// after the serial, so a kiosk greets a volunteer it has never seen while
// offline:
//
//	..     1     serial length s (1..32)
//	..     s     credential serial, UTF-8
//	..     1     name length m (0..32)
//	..     m     masked display name, UTF-8
//	..     2     issued date ...
//
// and the rest as in version 1; the version byte is 2 and the signature
// (same context string) covers the name too. A credential without a name
// is still written as version 1, which every kiosk reads; a kiosk reads
// both versions.
//
// The signature covers the UID, so a genuine payload copied onto another
// card is refused (ErrWrongCard). The card's sector keys are not the
// security: MIFARE Classic's Crypto1 is broken, the signature is not.
//
// # Media
//
// On every medium the credential travels as the payload of an NDEF record
// of MIME type application/vnd.leifeng.card: in an NDEF Message TLV on
// NTAG21x (NFC Forum Type 2 Tag), in MAD-directed NDEF sectors on MIFARE
// Classic 1K (NXP AN1304/AN10787), and in the NDEF file (E104) of NTAG 424
// DNA, followed there by a record of type application/vnd.leifeng.sun into
// which the chip mirrors its encrypted PICC data and SDM MAC on every read
// (NXP AN12196).
package credential
