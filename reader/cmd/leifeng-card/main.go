// Command leifeng-card makes and checks 普洱市志愿服务证 (volunteer cards):
// issuer keys, signed credentials written to card images or to real cards
// through an MFRC522 on a Raspberry Pi, and reading and verifying cards.
//
//	leifeng-card keygen -id 1 -out issuer          # issuer.key, issuer.pub
//	leifeng-card keygen -sun -out fleet-sun        # fleet-sun.json (NTAG 424 DNA SDM master keys)
//	leifeng-card keygen -root -out root            # root.key (offline), root.pub (kiosk bundles)
//	leifeng-card keyset sign -root root.key -pub issuer.pub -out keyset.json
//	leifeng-card keyset verify -root root.pub -in keyset.json
//	leifeng-card issue -key issuer.key -volunteer PE-530802-000123 -serial C2026-000123 \
//	    -expires 2029-03-01 -media ntag215 -uid 04A23B1C558091 -out card.json
//	leifeng-card issue -key issuer.key ... -spi SPI0.0 -rst GPIO25 -irq GPIO24
//	leifeng-card write -in credential.json -spi SPI0.0   # a card the cloud issued (POST /api/v1/volunteers/{id}/cards)
//	leifeng-card write -in credential.json -out card.json    # ... or a card image, for the simulated reader
//	leifeng-card read -pub issuer.pub -image card.json
//	leifeng-card read -pub issuer.pub -spi SPI0.0 -rst GPIO25 -irq GPIO24
//	leifeng-card verify -pub issuer.pub -image card.json
//	leifeng-card version
//
// Exit status: 0 on success; 1 when a command fails (a file, the reader, a
// card that does not verify); 2 for an unknown command or bad flags.
package main

import (
	"context"
	"fmt"
	"io"

	"leifeng/internal/buildinfo"
	"leifeng/internal/cli"
)

func main() { cli.Main("leifeng-card", run) }

const usage = `usage: leifeng-card <command> [flags]

commands:
  keygen   make an issuer signing key (with -sun, NTAG 424 DNA SDM master keys;
           with -root, the offline issuer root that signs key sets)
  keyset   sign (with the root) or verify the set of issuer keys kiosks trust
  issue    sign a credential and write it to a card image file or, with -spi, a card
  write    write a credential the cloud signed (-in FILE) to a card image file or, with -spi, the card
  read     read a card image through the simulated reader, or taps from -spi
  verify   check the credential stored in a card image file
  version  print the version
Run leifeng-card <command> -h for its flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.Usagef("no command")
	}
	switch args[0] {
	case "keygen":
		return keygen(args[1:], stdout)
	case "issue":
		return issue(args[1:], stdout)
	case "write":
		return write(args[1:], stdout)
	case "read":
		return read(ctx, args[1:], stdout)
	case "verify":
		return verify(args[1:], stdout)
	case "keyset":
		return keyset(args[1:], stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, buildinfo.Line("leifeng-card"))
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return cli.Usagef("unknown command %q", args[0])
}
