package mfrc522_test

import (
	"errors"
	"fmt"

	"leifeng/reader/chipsim"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

// Open the reader, wait for a card and read its first user pages. On the
// Pi the port is the SPI port (and the pins the GPIOs) the binary opened;
// here it is the chip simulator, which answers on the same interfaces, with
// an NTAG215 in its field.
func Example() {
	chip := chipsim.New()
	d, err := mfrc522.New(chip, mfrc522.WithIRQ(chip.IRQ()), mfrc522.WithReset(chip.ResetPin()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Halt()
	fmt.Printf("chip version 0x%02X\n", d.Version())

	if _, err := d.Detect(false); errors.Is(err, mfrc522.ErrNoCard) {
		fmt.Println("no card yet")
	}

	mem := make([]byte, credential.NTAG215.Pages*4)
	copy(mem[16:], "Leifeng!")
	card, err := chipsim.NewNTAG(credential.NTAG215, []byte{0x04, 0x6B, 0x21, 0xC2, 0x5F, 0x71, 0x80}, mem, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	chip.Place(card)

	tg, err := d.Detect(false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("card % X\n", tg.UID)
	page, err := d.NTAGRead(4) // four pages, 16 bytes, from page 4
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", page[:8])
	// Output:
	// chip version 0x92
	// no card yet
	// card 04 6B 21 C2 5F 71 80
	// Leifeng!
}

// Two cards in the field at once collide: the driver says so rather than
// reading one of them, and the kiosk asks the person to present one card.
func ExampleDev_Detect_severalCards() {
	chip := chipsim.New()
	d, err := mfrc522.New(chip)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Halt()
	for _, uid := range [][]byte{{0x04, 1, 2, 3, 4, 5, 6}, {0x04, 9, 8, 7, 6, 5, 4}} {
		card, _ := chipsim.NewNTAG(credential.NTAG215, uid, make([]byte, credential.NTAG215.Pages*4), nil)
		chip.Place(card)
	}
	_, err = d.Detect(false)
	fmt.Println(errors.Is(err, mfrc522.ErrSeveralCards))
	// Output: true
}
