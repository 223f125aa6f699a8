package api

import (
	_ "embed"
	"net/http"
)

// consoleHTML is the first console page: one static page on the JSON API,
// no build step. It lists the stations with desired and reported config
// versions, state, their last command and what became of it, and alerts;
// it loads a station's effective config, pushes only the parts edited
// (menu, contact board, announcements) to a station, a county or the
// fleet, and sends commands. Reasons for a refusal are shown in Chinese;
// times are China Standard Time.
//
//go:embed console.html
var consoleHTML []byte

func (a *api) console(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	w.Write(consoleHTML)
}
