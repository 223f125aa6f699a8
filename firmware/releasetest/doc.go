// Package releasetest is a kit for tests of releases: a real TUF
// repository (package repo) in a temporary directory, bundles built from
// in-memory payloads, and an HTTPS server for the tree (net/http's file
// server, which answers Range requests) that can throttle a link and drop
// connections on demand.
package releasetest
