package reader

import (
	"errors"

	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

// Errors a Tap can fail with. Test with errors.Is; the credential
// package's finer errors (credential.ErrWrongCard, credential.ErrUnknownKey,
// credential.ErrMalformed) also match ErrForged.
var (
	// ErrUnreadable: the card left the field or the radio link failed
	// mid-read. Tapping again usually works.
	ErrUnreadable = errors.New("reader: card could not be read")
	// ErrForged: the credential is not signed by a trusted issuer, was
	// altered, or belongs to another card.
	ErrForged = credential.ErrForged
	// ErrExpired: the credential is past its expiry date.
	ErrExpired = credential.ErrExpired
	// ErrNotYetValid: the credential's issue date is still ahead of the
	// kiosk's synchronised clock.
	ErrNotYetValid = credential.ErrNotYetValid
	// ErrRevoked: the credential's serial is on the revocation list.
	ErrRevoked = credential.ErrRevoked
	// ErrUnsupported: not a card type the reader knows, or a card without
	// a volunteer credential.
	ErrUnsupported = errors.New("reader: unsupported card")
	// ErrSeveralCards: more than one card is in the field.
	ErrSeveralCards = mfrc522.ErrSeveralCards
	// ErrReaderFault: the reader chip does not answer and could not be
	// reset.
	ErrReaderFault = errors.New("reader: reader hardware fault")
)

// Message returns what the kiosk shows a volunteer for err: plain, kind
// Chinese that says what to do next.
func Message(err error) string {
	switch {
	case err == nil:
		return "签到成功。"
	case errors.Is(err, ErrSeveralCards):
		return "读卡区有多张卡，请只放一张志愿服务证。"
	case errors.Is(err, ErrUnreadable):
		return "没有读完卡，请把卡放稳，再刷一次。"
	case errors.Is(err, ErrExpired):
		return "这张志愿服务证已过期，请到服务站或志愿服务联合会换卡。"
	case errors.Is(err, ErrNotYetValid):
		return "这张志愿服务证还没有到启用日期，请到启用日期后再刷，或联系站长。"
	case errors.Is(err, ErrRevoked):
		return "这张志愿服务证已停用，请联系站长或志愿服务联合会。"
	case errors.Is(err, ErrForged):
		return "无法确认这张卡是有效的志愿服务证，请联系站长。"
	case errors.Is(err, ErrUnsupported):
		return "这不是普洱市志愿服务证，请换用志愿服务证刷卡。"
	case errors.Is(err, ErrReaderFault):
		return "读卡器暂时出了故障，请联系站长；可以先在屏幕上登记。"
	}
	return "刷卡没有成功，请再试一次；如果还不行，请联系站长。"
}
