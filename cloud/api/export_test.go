package api

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// NewWithPatterns is New, also returning every pattern it registered on
// its mux, for the test that requires a login on each one.
func NewWithPatterns(s Store, gatherer prometheus.Gatherer, log *slog.Logger, f *Fleet, opts ...Option) (http.Handler, []string) {
	return build(s, gatherer, log, f, opts...)
}
