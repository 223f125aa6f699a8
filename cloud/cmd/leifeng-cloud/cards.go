package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"leifeng/cloud/cards"
	"leifeng/internal/cli"
)

// issuerKeyCmd is `leifeng-cloud issuer-key`: the cloud's online card
// issuer key, created under --data on first use (or by serve), exported as
// the public key file `leifeng-card keyset sign -pub` takes, so that the
// offline issuer root can admit it into the key set the kiosks trust.
func issuerKeyCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-cloud issuer-key", flag.ContinueOnError)
	data := fs.String("data", "leifeng-data", "the cloud's --data directory")
	id := fs.Uint("id", cards.DefaultKeyID, "issuer key ID, when the key is created now (an existing key keeps its ID); pick one no desk key (leifeng-card keygen -id) uses")
	out := fs.String("out", "cloud-issuer.pub", "public key file to write")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *id > 0xFFFF {
		return cli.Usagef("--id %d above 65535", *id)
	}
	k, created, err := cards.LoadKey(*data, uint16(*id))
	if err != nil {
		return fmt.Errorf("--data %s: %w", *data, err)
	}
	if !created && k.KeyID != uint16(*id) && *id != cards.DefaultKeyID {
		return fmt.Errorf("the cloud's issuer key in %s has key ID %d, not %d: it keeps the ID it was made with", filepath.Join(*data, cards.KeyFile), k.KeyID, *id)
	}
	b, err := json.MarshalIndent(cards.PublicKey(k), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	verb := "uses"
	if created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "the cloud %s card issuer key %d (%s); wrote its public key to %s\n", verb, k.KeyID, filepath.Join(*data, cards.KeyFile), *out)
	fmt.Fprintf(stdout, "on the offline machine: leifeng-card keyset sign -root root.key -pub %s [-pub desk.pub ...] -out keyset.json\n", *out)
	fmt.Fprintln(stdout, `then push it: leifeng-cloud config push --all --file DOC (DOC: {"key_set": <keyset.json>})`)
	return nil
}
