package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestNoncesRememberedUntilExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiosk.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)
	if err := s.UseNonce("n-1", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce("n-1", now.Add(time.Minute), now); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if err := s.PutBlob("station", []byte("doc")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.UseNonce("n-1", now.Add(time.Minute), now); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay after reopen: %v", err)
	}
	if b, err := s.Blob("station"); err != nil || string(b) != "doc" {
		t.Fatalf("blob %q %v", b, err)
	}
	// Past its expiry the nonce is forgotten (the command itself is
	// refused as expired by then).
	later := now.Add(2 * time.Minute)
	if err := s.UseNonce("n-2", later.Add(time.Minute), later); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce("n-1", later.Add(time.Minute), later); err != nil {
		t.Fatalf("expired nonce still remembered: %v", err)
	}
}
