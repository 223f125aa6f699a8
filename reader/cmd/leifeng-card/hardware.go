package main

import (
	"fmt"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"leifeng/reader/mfrc522"
)

// openReader opens a real MFRC522 through periph's host drivers.
func openReader(hw hwFlags) (*mfrc522.Dev, func(), error) {
	if _, err := host.Init(); err != nil {
		return nil, nil, fmt.Errorf("periph host: %w", err)
	}
	port, err := spireg.Open(hw.spi)
	if err != nil {
		return nil, nil, fmt.Errorf("SPI %q: %w", hw.spi, err)
	}
	opts := []mfrc522.Option{mfrc522.WithAntennaGain(hw.gain)}
	if hw.rst != "" {
		p := gpioreg.ByName(hw.rst)
		if p == nil {
			port.Close()
			return nil, nil, fmt.Errorf("no GPIO %q for RST", hw.rst)
		}
		opts = append(opts, mfrc522.WithReset(p))
	}
	if hw.irq != "" {
		p := gpioreg.ByName(hw.irq)
		if p == nil {
			port.Close()
			return nil, nil, fmt.Errorf("no GPIO %q for IRQ", hw.irq)
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
