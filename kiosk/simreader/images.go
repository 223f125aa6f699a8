package simreader

import (
	"context"
	"encoding/json"
	"fmt"

	"leifeng/reader"
	"leifeng/reader/cardimage"
)

// CardImages returns the ImageDecoder a kiosk uses: it loads the card
// image and taps it on a simulated MFRC522, read through the real driver
// and verified against cfg exactly as a card on the real reader is.
func CardImages(cfg *reader.Config) ImageDecoder {
	return func(ctx context.Context, raw json.RawMessage) (reader.Tap, error) {
		im, err := cardimage.Load(raw)
		if err != nil {
			return reader.Tap{}, fmt.Errorf("%w: %w", reader.ErrUnsupported, err)
		}
		return cardimage.Read(ctx, im, cfg)
	}
}
