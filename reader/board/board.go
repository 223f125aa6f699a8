// Package board opens the card reader wired to this computer: an MFRC522
// module on the Raspberry Pi's SPI bus and GPIO pins, through periph's host
// drivers (host.Init). Only the binaries import it (leifeng-kiosk with
// --reader rc522:SPI, leifeng-card with -spi); the library packages take
// an opened *mfrc522.Dev, so a kiosk's rules, store and tests never link
// the host drivers, and build on any OS.
package board

import (
	"fmt"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"leifeng/reader/mfrc522"
)

// Wiring says how an MFRC522 module is connected to the host (README:
// Hardware). Empty RST or IRQ means the pin is not wired.
type Wiring struct {
	// SPI is the port, e.g. "SPI0.0" or "/dev/spidev0.0".
	SPI string
	// RST and IRQ are GPIO names, e.g. "GPIO25" and "GPIO24".
	RST, IRQ string
	// Gain is the receiver gain, 0 to 7.
	Gain int
}

// Open opens a real MFRC522 through periph's host drivers (the Raspberry
// Pi's SPI and GPIO). The returned func halts the chip and closes the port.
func Open(w Wiring) (*mfrc522.Dev, func(), error) {
	if _, err := host.Init(); err != nil {
		return nil, nil, fmt.Errorf("periph host: %w", err)
	}
	port, err := spireg.Open(w.SPI)
	if err != nil {
		return nil, nil, fmt.Errorf("SPI %q: %w (is SPI enabled? see README: Hardware)", w.SPI, err)
	}
	opts := []mfrc522.Option{mfrc522.WithAntennaGain(w.Gain)}
	if w.RST != "" {
		p := gpioreg.ByName(w.RST)
		if p == nil {
			port.Close()
			return nil, nil, fmt.Errorf("no GPIO %q for RST", w.RST)
		}
		opts = append(opts, mfrc522.WithReset(p))
	}
	if w.IRQ != "" {
		p := gpioreg.ByName(w.IRQ)
		if p == nil {
			port.Close()
			return nil, nil, fmt.Errorf("no GPIO %q for IRQ", w.IRQ)
		}
		opts = append(opts, mfrc522.WithIRQ(p))
	}
	dev, err := mfrc522.New(port, opts...)
	if err != nil {
		port.Close()
		return nil, nil, err
	}
	return dev, func() {
		dev.Halt()
		port.Close()
	}, nil
}
