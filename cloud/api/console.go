package api

import (
	_ "embed"
	"net/http"
)

// consoleHTML is the first console page: one static page on the JSON API,
// no build step. It lists the stations with desired and reported config
// versions, state and alerts, and edits and pushes a station's (a
// county's, the fleet's) menu, contact board and announcements.
//
//go:embed console.html
var consoleHTML []byte

func (a *api) console(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	w.Write(consoleHTML)
}
