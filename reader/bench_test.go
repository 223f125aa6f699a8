package reader_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	stock "periph.io/x/devices/v3/mfrc522"

	"leifeng/reader"
	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
	"leifeng/reader/ndef"
)

// stockPollInterval is how often periph's driver repeats REQA while it
// waits for a card (commands.LowLevel.WaitForEdge).
const stockPollInterval = 100 * time.Millisecond

// BenchmarkTap reports the modelled time from a card entering the field to
// its credential verified: half a poll interval (the mean wait for the next
// poll) plus the chip simulator's clock over detection, reading and
// verification. Beside it, each card type's floor (tapFloor: air time of
// the fewest frames, their SPI time and half a poll interval), the ratio
// of the path to its floor (target ≤ 1.5), and the card's own modelled
// processing time, which the floor leaves out. The stock case reads the
// same Classic 1K credential with periph's mfrc522 driver, one block per
// card cycle, as it allows.
func BenchmarkTap(b *testing.B) {
	for _, c := range []struct {
		name  string
		media string
		uid   []byte
	}{
		{"classic1k", "classic1k", uid4},
		{"ntag215", "ntag215", uid7},
		{"ntag424", "ntag424", uid7},
	} {
		b.Run(c.name, func(b *testing.B) {
			cred := credentialFor(b, c.uid, nil)
			im := issue(b, c.media, c.uid, cred)
			cfg := config()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				chip := chipsim.New()
				dev, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin()))
				if err != nil {
					b.Fatal(err)
				}
				r := reader.NewReader(dev, cfg, reader.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
				chip.Place(card(b, im))
				t0 := chip.Now()
				ev, ok := r.Poll()
				if !ok || ev.Err != nil {
					b.Fatalf("tap: %v %v", ok, ev.Err)
				}
				total += chip.Now() - t0
			}
			tap := total/time.Duration(b.N) + reader.DefaultPollInterval/2
			fl := tapFloor(c.media, len(c.uid), cred)
			b.ReportMetric(ms(tap), "modeled-ms/tap")
			b.ReportMetric(ms(fl), "floor-ms")
			b.ReportMetric(float64(tap)/float64(fl), "x-floor")
			b.ReportMetric(ms(cardTime(c.media)), "card-ms")
		})
	}
	b.Run("stock-classic1k", func(b *testing.B) {
		im := issue(b, "classic1k", uid4, credentialFor(b, uid4, nil))
		cfg := config()
		var total time.Duration
		for i := 0; i < b.N; i++ {
			chip := chipsim.New()
			chip.Place(card(b, im))
			dev, err := stock.NewSPI(chip, chip.ResetPin(), chip.IRQ())
			if err != nil {
				b.Fatal(err)
			}
			t0 := chip.Now()
			if _, err := stockTap(dev, cfg); err != nil {
				b.Fatal(err)
			}
			total += chip.Now() - t0
		}
		tap := total/time.Duration(b.N) + stockPollInterval/2
		b.ReportMetric(ms(tap), "modeled-ms/tap")
		b.ReportMetric(float64(tap)/float64(tapFloor("classic1k", len(uid4), credentialFor(b, uid4, nil))), "x-floor")
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// stockTap reads and verifies a Classic 1K credential with periph's driver.
func stockTap(dev *stock.Dev, cfg *reader.Config) (*credential.Credential, error) {
	uid, err := dev.ReadUID(time.Second)
	if err != nil {
		return nil, err
	}
	var mad []byte
	for _, blk := range []int{1, 2} {
		d, err := dev.ReadCard(time.Second, 0x60, 0, blk, stock.Key(credential.MADKeyA))
		if err != nil {
			return nil, err
		}
		mad = append(mad, d...)
	}
	sectors, err := credential.ClassicNDEFSectors(mad)
	if err != nil {
		return nil, err
	}
	var area []byte
	need := -1
	for _, s := range sectors {
		for blk := 0; blk < 3 && (need < 0 || len(area) < need); blk++ {
			d, err := dev.ReadCard(time.Second, 0x60, s, blk, stock.Key(credential.NDEFKeyA))
			if err != nil {
				return nil, err
			}
			area = append(area, d...)
			if need < 0 {
				if n, ok, _ := ndef.TLVLength(area); ok {
					need = n
				}
			}
		}
		if need >= 0 && len(area) >= need {
			break
		}
	}
	msg, err := ndef.UnwrapTLV(area[:need])
	if err != nil {
		return nil, err
	}
	cred, _, err := credential.FromNDEF(msg)
	if err != nil {
		return nil, err
	}
	return cfg.Verifier.Verify(uid, cred)
}

// The stock path is also a test: the same credential verifies through
// periph's unmodified driver on the simulator.
func TestStockDriverVerifiesCredential(t *testing.T) {
	im := issue(t, "classic1k", uid4, credentialFor(t, uid4, nil))
	chip := chipsim.New()
	chip.Place(card(t, im))
	dev, err := stock.NewSPI(chip, chip.ResetPin(), chip.IRQ())
	if err != nil {
		t.Fatal(err)
	}
	c, err := stockTap(dev, config())
	if err != nil {
		t.Fatal(err)
	}
	if c.Volunteer != "PE-530802-000123" {
		t.Fatalf("%+v", c)
	}
}
