package reader

import (
	"context"
	"errors"
	"fmt"

	"leifeng/reader/cardimage"
	"leifeng/reader/chipsim"
	"leifeng/reader/mfrc522"
)

// ReadImage taps a card image on a simulated MFRC522 and reads it through
// the real driver and the same decode and verify path as a card on the
// kiosk's reader. The kiosk's simulated reader calls it for each
// {"image": ...} line it receives (see package cardimage). For NTAG 424
// DNA it advances im.SDM.Counter as the card's read counter advanced, so
// a caller that keeps the image gets a rising SUN counter; one that replays
// the same image bytes replays the same SUN message, which the cloud flags.
func ReadImage(ctx context.Context, im *cardimage.Image, cfg *Config) (Tap, error) {
	if err := ctx.Err(); err != nil {
		return Tap{}, err
	}
	card, err := im.Card()
	if err != nil {
		return Tap{}, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	chip := chipsim.New()
	chip.Place(card)
	dev, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin()))
	if err != nil {
		return Tap{}, fmt.Errorf("%w: %w", ErrReaderFault, err)
	}
	defer dev.Halt()
	t, err := dev.Detect(false)
	if errors.Is(err, mfrc522.ErrSeveralCards) {
		return Tap{}, err
	}
	if err != nil {
		return Tap{}, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	tap, err := Read(dev, t, cfg)
	if im.SDM != nil {
		im.SDM.Counter = card.Counter()
	}
	if err == nil {
		err = ctx.Err()
	}
	return tap, err
}
