package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"leifeng/gateway/wire"

	"leifeng/internal/cli"
	"leifeng/reader"
	"leifeng/reader/board"
	"leifeng/reader/cardimage"
	"leifeng/reader/credential"
	"leifeng/reader/mfrc522"
)

func writeJSON(path string, v any, mode os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), mode)
}

func keygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card keygen", flag.ContinueOnError)
	id := fs.Uint("id", 1, "issuer key ID written into every credential it signs")
	out := fs.String("out", "issuer", "output path prefix")
	sun := fs.Bool("sun", false, "make NTAG 424 DNA SDM master keys instead (<out>.json)")
	root := fs.Bool("root", false, "make the issuer root key instead, which signs key sets (<out>.key stays offline, <out>.pub goes into kiosk bundles)")
	rootID := fs.String("root-id", "root-1", "with -root: the root key's name, carried in every key set it signs")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *root {
		if *rootID == "" || len(*rootID) > 64 {
			return errors.New("-root-id: 1 to 64 characters")
		}
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if err := writeJSON(*out+".key", reader.RootKeyFile{RootID: *rootID, Seed: priv.Seed()}, 0o600); err != nil {
			return err
		}
		if err := writeJSON(*out+".pub", reader.RootPublicKeyFile{RootID: *rootID, PublicKey: cardimage.Hex(pub)}, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s.key (the issuer root: keep it offline, on this machine only) and %s.pub (for kiosk bundles: leifeng-cloud station add --issuer-root, or leifeng-kiosk --issuer-root), root %s\n", *out, *out, *rootID)
		return nil
	}
	if *sun {
		k := reader.SUNKeyFile{MetaRead: make([]byte, 16), FileRead: make([]byte, 16)}
		rand.Read(k.MetaRead)
		rand.Read(k.FileRead)
		if err := writeJSON(*out+".json", k, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s.json\n", *out)
		return nil
	}
	if *id > 0xFFFF {
		return fmt.Errorf("key ID %d above 65535", *id)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := writeJSON(*out+".key", reader.PrivateKeyFile{KeyID: uint16(*id), Seed: priv.Seed()}, 0o600); err != nil {
		return err
	}
	if err := writeJSON(*out+".pub", reader.PublicKeyFile{KeyID: uint16(*id), PublicKey: cardimage.Hex(pub)}, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s.key (keep it offline) and %s.pub (for kiosks), key ID %d\n", *out, *out, *id)
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// hwFlags are the wiring of a real reader.
type hwFlags struct {
	spi, rst, irq string
	gain          int
}

func (h *hwFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.spi, "spi", "", "SPI port of a real MFRC522 (e.g. SPI0.0 or /dev/spidev0.0); empty for card images")
	fs.StringVar(&h.rst, "rst", "GPIO25", "GPIO wired to the MFRC522 RST (NRSTPD) pin; empty if not wired")
	fs.StringVar(&h.irq, "irq", "GPIO24", "GPIO wired to the MFRC522 IRQ pin; empty if not wired")
	fs.IntVar(&h.gain, "gain", 4, "receiver gain 0..7")
}

func parseDate(s string) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, time.FixedZone("CST", 8*3600))
}

func issue(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card issue", flag.ContinueOnError)
	keyPath := fs.String("key", "issuer.key", "issuer private key file")
	volunteer := fs.String("volunteer", "", "volunteer ID (required)")
	serial := fs.String("serial", "", "credential serial (required)")
	issued := fs.String("issued", time.Now().Format("2006-01-02"), "issue date, YYYY-MM-DD")
	expires := fs.String("expires", "", "last valid day, YYYY-MM-DD (required)")
	media := fs.String("media", "ntag215", "classic1k, ntag213, ntag215, ntag216 or ntag424 (card images)")
	uidHex := fs.String("uid", "", "card UID in hex (card images; a real card gives its own)")
	out := fs.String("out", "card.json", "card image file to write")
	name := fs.String("name", "", "the volunteer's masked display name (张*明), shown by kiosks whose roster lacks them; empty writes a layout-1 credential without one")
	var sec secretFlags
	sec.register(fs)
	var hw hwFlags
	hw.register(fs)
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *volunteer == "" || *serial == "" || *expires == "" {
		return errors.New("issue: -volunteer, -serial and -expires are required")
	}
	var pk reader.PrivateKeyFile
	if err := reader.ReadJSONFile(*keyPath, &pk); err != nil {
		return err
	}
	if len(pk.Seed) != ed25519.SeedSize {
		return fmt.Errorf("%s: not an issuer key", *keyPath)
	}
	iss, err := parseDate(*issued)
	if err != nil {
		return err
	}
	exp, err := parseDate(*expires)
	if err != nil {
		return err
	}
	opts, err := sec.options(*media, hw.spi != "")
	if err != nil {
		return err
	}
	sign := func(uid []byte, media string) (*cardimage.Image, error) {
		c := &credential.Credential{UID: uid, Volunteer: *volunteer, Serial: *serial, Name: *name, Issued: iss, Expires: exp}
		b, err := c.Sign(pk.KeyID, ed25519.NewKeyFromSeed(pk.Seed))
		if err != nil {
			return nil, err
		}
		return cardimage.Issue(media, uid, b, opts)
	}
	if hw.spi != "" {
		return issueHardware(hw, sign, stdout)
	}
	uid, err := hex.DecodeString(*uidHex)
	if err != nil || len(uid) == 0 {
		return errors.New("issue: -uid must be the card UID in hex")
	}
	im, err := sign(uid, *media)
	if err != nil {
		return err
	}
	b, err := im.Save()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s card %X for volunteer %s, serial %s, valid through %s\n", *out, *media, uid, *volunteer, *serial, *expires)
	return nil
}

// secretFlags are the card's own keys, which the issuing desk holds.
type secretFlags struct {
	keyB, sun string
}

func (f *secretFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.keyB, "keyb", "", "MIFARE Classic key B, 12 hex digits (default: random)")
	fs.StringVar(&f.sun, "sun-keys", "", "SDM master key file (ntag424)")
}

// options reads the card keys for media (on a real reader the media is
// known only once the card is there, so SUN keys are not required ahead).
func (f *secretFlags) options(media string, hardware bool) (cardimage.IssueOptions, error) {
	var opts cardimage.IssueOptions
	if f.keyB != "" {
		b, err := hex.DecodeString(f.keyB)
		if err != nil || len(b) != 6 {
			return opts, fmt.Errorf("-keyb: want 12 hex digits")
		}
		opts.KeyB = [6]byte(b)
	} else {
		rand.Read(opts.KeyB[:])
	}
	if f.sun != "" {
		var k reader.SUNKeyFile
		if err := reader.ReadJSONFile(f.sun, &k); err != nil {
			return opts, err
		}
		opts.SUNMaster = credential.SUNKeys{MetaRead: k.MetaRead, FileRead: k.FileRead}
	} else if media == "ntag424" && !hardware {
		return opts, errors.New("ntag424 needs -sun-keys")
	}
	return opts, nil
}

// write is `leifeng-card write`: it writes a credential the cloud signed
// (the "write" object of POST /api/v1/volunteers/{id}/cards, saved to a
// file) to the blank card on the reader, or lays it out as a card image.
// The credential is bound to the card UID it was issued for: a card with
// another UID or of another type is refused before anything is written.
func write(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card write", flag.ContinueOnError)
	in := fs.String("in", "", "credential file from the cloud (required): the API's answer, or its \"write\" object")
	out := fs.String("out", "card.json", "card image file to write (without -spi)")
	var sec secretFlags
	sec.register(fs)
	var hw hwFlags
	hw.register(fs)
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("write: -in FILE is required")
	}
	cf, err := readCredentialFile(*in)
	if err != nil {
		return err
	}
	if _, err := credential.Decode(cf.Credential); err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	opts, err := sec.options(cf.Media, hw.spi != "")
	if err != nil {
		return err
	}
	lay := func(uid []byte, media string) (*cardimage.Image, error) {
		if !bytes.Equal(uid, cf.UID) {
			return nil, fmt.Errorf("the card on the reader is %X, but credential %s was issued for card %X: put that card on the reader, or issue one for this card", uid, cf.Serial, []byte(cf.UID))
		}
		if media != cf.Media {
			return nil, fmt.Errorf("the card on the reader is %s, but credential %s was issued for %s", media, cf.Serial, cf.Media)
		}
		return cardimage.Issue(media, uid, cf.Credential, opts)
	}
	if hw.spi != "" {
		return issueHardware(hw, lay, stdout)
	}
	im, err := lay(cf.UID, cf.Media)
	if err != nil {
		return err
	}
	b, err := im.Save()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s card %X for volunteer %s (%s), serial %s, valid through %s\n", *out, cf.Media, []byte(cf.UID), cf.Volunteer, cf.Name, cf.Serial, cf.Expires)
	return nil
}

// readCredentialFile reads the cloud's credential file: the "write"
// object alone, or the whole answer of the issue or reissue call.
func readCredentialFile(path string) (*reader.CredentialFile, error) {
	var doc struct {
		reader.CredentialFile
		Write *reader.CredentialFile `json:"write"`
	}
	if err := reader.ReadJSONFile(path, &doc); err != nil {
		return nil, err
	}
	cf := &doc.CredentialFile
	if doc.Write != nil {
		cf = doc.Write
	}
	if cf.Format != reader.CredentialFormat {
		return nil, fmt.Errorf("%s: format %q, want %q (the cloud's answer to issuing a card)", path, cf.Format, reader.CredentialFormat)
	}
	return cf, nil
}

// issueHardware waits for a blank card on a real reader, signs a credential
// for its UID and writes it.
func issueHardware(hw hwFlags, sign func([]byte, string) (*cardimage.Image, error), stdout io.Writer) error {
	dev, closeDev, err := board.Open(board.Wiring{SPI: hw.spi, RST: hw.rst, IRQ: hw.irq, Gain: hw.gain})
	if err != nil {
		return err
	}
	defer closeDev()
	fmt.Fprintln(stdout, "place a blank card on the reader...")
	var t *mfrc522.Target
	for deadline := time.Now().Add(30 * time.Second); ; {
		t, err = dev.Detect(true)
		if err == nil {
			break
		}
		if !errors.Is(err, mfrc522.ErrNoCard) || time.Now().After(deadline) {
			return fmt.Errorf("no card: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	media := "classic1k"
	if t.SAK == 0x00 {
		v, err := dev.NTAGVersion()
		if err != nil {
			return err
		}
		media = map[byte]string{0x0F: "ntag213", 0x11: "ntag215", 0x13: "ntag216"}[v[6]]
		if media == "" {
			return fmt.Errorf("unsupported tag, GET_VERSION % X", v)
		}
		if err := dev.HaltCard(); err != nil {
			return err
		}
		if t, err = dev.Detect(true); err != nil {
			return err
		}
	} else if t.SAK != 0x08 {
		return fmt.Errorf("unsupported card, SAK 0x%02X", t.SAK)
	}
	im, err := sign(t.UID, media)
	if err != nil {
		return err
	}
	if err := cardimage.Write(dev, t, im, cardimage.TransportKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "issued %s card %X\n", media, t.UID)
	return nil
}

// verifierFlags load what the reader checks cards against.
type verifierFlags struct {
	pubs    listFlag
	revoked string
	sun     string
}

func (v *verifierFlags) register(fs *flag.FlagSet) {
	fs.Var(&v.pubs, "pub", "trusted issuer public key file (repeatable)")
	fs.StringVar(&v.revoked, "revoked", "", "file of revoked serials, one a line")
	fs.StringVar(&v.sun, "sun-keys", "", "SDM master key file, to check NTAG 424 DNA SUN messages")
}

func (v *verifierFlags) config() (*reader.Config, error) {
	return reader.LoadConfig(v.pubs, v.revoked, v.sun)
}

// tapJSON is what read prints per tap.
type tapJSON struct {
	Volunteer string        `json:"volunteer,omitempty"`
	Card      string        `json:"card,omitempty"`
	UID       cardimage.Hex `json:"uid,omitempty"`
	Media     string        `json:"media,omitempty"`
	Counter   uint32        `json:"counter,omitempty"`
	SUN       string        `json:"sun,omitempty"`
	At        time.Time     `json:"at"`
	Error     string        `json:"error,omitempty"`
	// Code is reader.Code of the error; the kiosk's catalogue has its
	// sentence.
	Code string `json:"code,omitempty"`
}

func printTap(w io.Writer, t reader.Tap, err error) {
	j := tapJSON{Volunteer: t.Volunteer, Card: t.Card, UID: t.UID, Media: t.Media, Counter: t.Counter, SUN: string(t.SUN), At: t.At, Code: reader.Code(err)}
	if err != nil {
		j.Error = err.Error()
	}
	b, _ := json.Marshal(j)
	fmt.Fprintln(w, string(b))
}

func loadImage(path string) (*cardimage.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return cardimage.Load(b)
}

func read(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card read", flag.ContinueOnError)
	image := fs.String("image", "", "card image file to tap on the simulated reader")
	var vf verifierFlags
	vf.register(fs)
	var hw hwFlags
	hw.register(fs)
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := vf.config()
	if err != nil {
		return err
	}
	if hw.spi == "" {
		if *image == "" {
			return errors.New("read: give -image or -spi")
		}
		im, err := loadImage(*image)
		if err != nil {
			return err
		}
		tap, err := cardimage.Read(ctx, im, cfg)
		printTap(stdout, tap, err)
		return err
	}
	dev, closeDev, err := board.Open(board.Wiring{SPI: hw.spi, RST: hw.rst, IRQ: hw.irq, Gain: hw.gain})
	if err != nil {
		return err
	}
	defer closeDev()
	fmt.Fprintf(stdout, "reading from %s; Ctrl-C to stop\n", dev)
	events := make(chan reader.Event)
	done := make(chan error, 1)
	go func() { done <- reader.NewReader(dev, cfg).Run(ctx, events) }()
	for {
		select {
		case ev := <-events:
			printTap(stdout, ev.Tap, ev.Err)
		case <-done:
			return nil
		}
	}
}

func verify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card verify", flag.ContinueOnError)
	image := fs.String("image", "", "card image file (required)")
	var vf verifierFlags
	vf.register(fs)
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := vf.config()
	if err != nil {
		return err
	}
	im, err := loadImage(*image)
	if err != nil {
		return err
	}
	msg, err := im.NDEF()
	if err != nil {
		return err
	}
	cred, _, err := credential.FromNDEF(msg)
	if err != nil {
		return err
	}
	c, err := cfg.Verifier.Verify(im.UID, cred)
	if c != nil {
		if c.Name != "" {
			fmt.Fprintf(stdout, "name %s, ", c.Name)
		}
		fmt.Fprintf(stdout, "volunteer %s, serial %s, key %d, card %X, issued %s, expires %s\n",
			c.Volunteer, c.Serial, c.KeyID, c.UID, c.Issued.Format("2006-01-02"), c.Expires.Format("2006-01-02"))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}

// keyset is `leifeng-card keyset sign|verify`: the card-issuer key set
// kiosks trust, signed with the offline issuer root.
func keyset(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "sign" && args[0] != "verify") {
		return errors.New("usage: leifeng-card keyset sign -root root.key -pub issuer.pub ... -out keyset.json | keyset verify -root root.pub -in keyset.json")
	}
	if args[0] == "verify" {
		return keysetVerify(args[1:], stdout)
	}
	fs := flag.NewFlagSet("leifeng-card keyset sign", flag.ContinueOnError)
	rootPath := fs.String("root", "root.key", "issuer root private key file (leifeng-card keygen -root)")
	var pubs listFlag
	fs.Var(&pubs, "pub", "issuer public key file to trust (repeatable)")
	var revoke listFlag
	fs.Var(&revoke, "revoke-key", "issuer key ID no kiosk may trust any longer (repeatable)")
	version := fs.Uint64("version", uint64(time.Now().Unix()), "key set version; must rise with every key set (default: the Unix time)")
	valid := fs.Duration("valid", 180*24*time.Hour, "how long the key set may be taken up by a kiosk that has no newer one")
	out := fs.String("out", "keyset.json", "file to write: the signed key set, for a config's key_set field")
	if err := cli.Parse(fs, args[1:], stdout); err != nil {
		return err
	}
	var rk reader.RootKeyFile
	if err := reader.ReadJSONFile(*rootPath, &rk); err != nil {
		return err
	}
	if len(rk.Seed) != ed25519.SeedSize || rk.RootID == "" {
		return fmt.Errorf("%s: not an issuer root key (leifeng-card keygen -root)", *rootPath)
	}
	now := time.Now().UTC().Truncate(time.Second)
	ks := &wire.KeySet{Version: *version, Issued: now, Expires: now.Add(*valid), Keys: []wire.TrustedKey{}}
	for _, p := range pubs {
		var k reader.PublicKeyFile
		if err := reader.ReadJSONFile(p, &k); err != nil {
			return err
		}
		ks.Keys = append(ks.Keys, wire.TrustedKey{ID: k.KeyID, PublicKey: k.PublicKey})
	}
	for _, r := range revoke {
		id, err := strconv.ParseUint(r, 10, 16)
		if err != nil {
			return fmt.Errorf("-revoke-key %q: want a key ID 0..65535", r)
		}
		ks.RevokedKeys = append(ks.RevokedKeys, uint16(id))
	}
	env, err := wire.SealKeySet(ed25519.NewKeyFromSeed(rk.Seed), rk.RootID, ks)
	if err != nil {
		return err
	}
	if err := writeJSON(*out, env, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: key set %d signed by %s, %d issuer keys, %d revoked, valid until %s\n",
		*out, ks.Version, rk.RootID, len(ks.Keys), len(ks.RevokedKeys), ks.Expires.Format(time.RFC3339))
	fmt.Fprintf(stdout, "put it in the fleet config as \"key_set\" and push it: leifeng-cloud config push --all --file CONFIG\n")
	return nil
}

func keysetVerify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("leifeng-card keyset verify", flag.ContinueOnError)
	var roots listFlag
	fs.Var(&roots, "root", "issuer root public key file (repeatable)")
	in := fs.String("in", "keyset.json", "signed key set file")
	if err := cli.Parse(fs, args, stdout); err != nil {
		return err
	}
	trusted, err := reader.LoadRoots(roots)
	if err != nil {
		return err
	}
	env := new(wire.Envelope)
	if err := reader.ReadJSONFile(*in, env); err != nil {
		return err
	}
	ks, err := wire.OpenKeySet(env, trusted)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key set %d signed by %s, issued %s, expires %s\n", ks.Version, env.Key, ks.Issued.Format(time.RFC3339), ks.Expires.Format(time.RFC3339))
	for _, k := range ks.Keys {
		fmt.Fprintf(stdout, "  trusts issuer key %d %X\n", k.ID, k.PublicKey)
	}
	for _, id := range ks.RevokedKeys {
		fmt.Fprintf(stdout, "  revokes issuer key %d\n", id)
	}
	if time.Now().After(ks.Expires) {
		return fmt.Errorf("key set %d expired %s", ks.Version, ks.Expires.Format(time.RFC3339))
	}
	fmt.Fprintln(stdout, "valid")
	return nil
}
