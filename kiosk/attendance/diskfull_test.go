package attendance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"leifeng/kiosk/store"
)

// smallDisk mounts a tmpfs of size bytes and returns its path. It needs
// root; without it the test is skipped, unless LEIFENG_REQUIRE_SERVICES=1
// (CI), where a skipped disk-full test would hide a gap.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("LEIFENG_REQUIRE_SERVICES") == "1" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("disk-full test mounts a small tmpfs and needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		skip("cannot mount a tmpfs for the disk-full test: %v: %s", err, out)
	}
	// Registered after TempDir, so it runs before TempDir's removal.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			return
		}
	}
}

func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, 4<<20)
	path := filepath.Join(dir, "kiosk.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	clk := newManualClock()
	newBook := func() *Book {
		b, err := New(st, Config{Station: station, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	book := newBook()
	ctx := context.Background()

	confirmed := map[string]Result{}
	tapOne := func(i int) (Result, error) {
		r, err := book.Tap(ctx, tap(fmt.Sprintf("V%04d", i)))
		if err == nil {
			confirmed[r.ID] = r
		}
		return r, err
	}
	for i := range 20 {
		if _, err := tapOne(i); err != nil {
			t.Fatal(err)
		}
	}

	filler := filepath.Join(dir, "filler")
	fill(t, filler)

	// Pages bbolt already owns may absorb a few more commits; the first tap
	// that needs new space must fail cleanly.
	var failed error
	for i := 20; i < 2000 && failed == nil; i++ {
		_, failed = tapOne(i)
	}
	if !errors.Is(failed, ErrStorage) || !errors.Is(failed, syscall.ENOSPC) {
		t.Fatalf("tap on a full disk: %v", failed)
	}
	if code := Code(failed); code != CodeDiskFull {
		t.Fatalf("code for the person's sentence: %q", code)
	}
	// Still full: taps keep failing the same way, nothing half-written.
	if _, err := tapOne(5000); !errors.Is(err, ErrStorage) {
		t.Fatalf("second tap on a full disk: %v", err)
	}
	t.Logf("%d taps confirmed before the disk filled", len(confirmed))

	// Everything confirmed is intact after a reopen, on the still-full disk.
	verify := func() {
		t.Helper()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if st, err = store.Open(path); err != nil {
			t.Fatalf("reopen on a full disk: %v", err)
		}
		recs, err := st.Oldest(100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(confirmed) {
			t.Fatalf("%d records stored, %d confirmed", len(recs), len(confirmed))
		}
		for i, r := range recs {
			c, ok := confirmed[r.ID]
			if !ok || r.Seq != uint64(i+1) || c.Seq != r.Seq {
				t.Fatalf("record %d (%s seq %d) was never confirmed or is out of order", i, r.ID, r.Seq)
			}
			if ses, ok, err := st.Session(r.Volunteer); err != nil || !ok || ses.CheckIn != r.ID {
				t.Fatalf("session of %s: %+v %v %v", r.Volunteer, ses, ok, err)
			}
		}
	}
	verify()

	// Space returns: taps work again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	book = newBook()
	r, err := tapOne(6000)
	if err != nil {
		t.Fatalf("tap after space returned: %v", err)
	}
	if r.Kind != "check_in" {
		t.Fatalf("%+v", r)
	}
	verify()
}
