package main

import (
	"testing"

	"go.uber.org/goleak"
)

// serve runs in-process in the tests: when it returns, everything it
// started has stopped, except the API's session store's cleanup
// goroutine, which cloud/api starts in api.New and gives no way to stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}
