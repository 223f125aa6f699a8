package cardimage

import (
	"context"
	"errors"
	"fmt"

	"leifeng/reader"
	"leifeng/reader/chipsim"
	"leifeng/reader/mfrc522"
)

// Read taps a card image on a simulated MFRC522 and reads it through the
// real driver and the same decode and verify path (reader.Read) as a card
// on the kiosk's reader. The kiosk's simulated reader calls it for each
// {"image": ...} line it receives. It lives here, with the simulator, so
// that package reader, which every kiosk links, never links chipsim. For NTAG 424
// DNA it advances im.SDM.Counter as the card's read counter advanced, so
// a caller that keeps the image gets a rising SUN counter; one that replays
// the same image bytes replays the same SUN message, which the cloud flags.
func Read(ctx context.Context, im *Image, cfg *reader.Config) (reader.Tap, error) {
	if err := ctx.Err(); err != nil {
		return reader.Tap{}, err
	}
	card, err := im.Card()
	if err != nil {
		return reader.Tap{}, fmt.Errorf("%w: %w", reader.ErrUnsupported, err)
	}
	chip := chipsim.New()
	chip.Place(card)
	dev, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin()))
	if err != nil {
		return reader.Tap{}, fmt.Errorf("%w: %w", reader.ErrReaderFault, err)
	}
	defer dev.Halt()
	t, err := dev.Detect(false)
	if errors.Is(err, mfrc522.ErrSeveralCards) {
		return reader.Tap{}, err
	}
	if err != nil {
		return reader.Tap{}, fmt.Errorf("%w: %w", reader.ErrUnreadable, err)
	}
	tap, err := reader.Read(dev, t, cfg)
	if im.SDM != nil {
		im.SDM.Counter = card.Counter()
	}
	if err == nil {
		err = ctx.Err()
	}
	return tap, err
}
