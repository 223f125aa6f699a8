package ui

import "leifeng/kiosk/ui/catalog"

// Lang is a UI language code (see package catalog).
type Lang = catalog.Lang

// Languages the kiosk speaks.
const (
	Zh = catalog.Zh
	En = catalog.En
)

// Key names one string of the catalogue.
type Key = catalog.Key

// tr returns key in lang, formatted with args.
func tr(lang Lang, key Key, args ...any) string { return catalog.Text(lang, key, args...) }

// errorKey picks the catalogue sentence for a failed tap.
func errorKey(err error) Key { return catalog.ErrorKey(catalog.Code(err)) }
