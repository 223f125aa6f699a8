package api

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine has an owner that stops it. The one exception is scs's: its
// scs.New always starts a cleanup goroutine for a default memory store,
// which newGuard replaces at once with the database's (store.Sessions,
// which needs none); the library gives no race-free way to stop the
// first, and it holds nothing.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}
