package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// MinTarget is the smallest side of a touch target, in Fyne units (pixels
// at scale 1); MinTargetLarge is the one of large-text mode, the 60×60 dp
// of the MIIT's 2021 rules for elderly-friendly apps (适老化).
const (
	MinTarget      = 48
	MinTargetLarge = 60
)

// kioskTheme is the kiosk's look: the station red on a light background,
// or white and yellow on black in high-contrast mode, with larger sizes in
// large-text mode.
type kioskTheme struct {
	large, contrast bool
}

var (
	leifengRed = color.NRGBA{R: 0xC8, G: 0x10, B: 0x2E, A: 0xFF}
	okGreen    = color.NRGBA{R: 0x1B, G: 0x7F, B: 0x3B, A: 0xFF}
	hcYellow   = color.NRGBA{R: 0xFF, G: 0xE0, B: 0x00, A: 0xFF}
)

func (t kioskTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	if t.contrast {
		switch n {
		case theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground, theme.ColorNameInputBackground:
			return color.Black
		case theme.ColorNameButton:
			return color.NRGBA{R: 0x20, G: 0x20, B: 0x20, A: 0xFF}
		case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameHyperlink:
			return hcYellow
		case theme.ColorNameForegroundOnPrimary:
			return color.Black
		case theme.ColorNameSuccess:
			return color.NRGBA{R: 0x40, G: 0xFF, B: 0x60, A: 0xFF}
		case theme.ColorNameError:
			return color.NRGBA{R: 0xFF, G: 0x60, B: 0x60, A: 0xFF}
		case theme.ColorNameShadow, theme.ColorNameHover, theme.ColorNamePressed:
			return color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xFF}
		case theme.ColorNameSeparator, theme.ColorNameInputBorder:
			return color.White
		}
		return color.White
	}
	switch n {
	case theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground, theme.ColorNameInputBackground:
		return color.NRGBA{R: 0xFA, G: 0xF7, B: 0xF2, A: 0xFF}
	case theme.ColorNameButton:
		return color.NRGBA{R: 0xE8, G: 0xE2, B: 0xDA, A: 0xFF}
	case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameHyperlink:
		return leifengRed
	case theme.ColorNameForegroundOnPrimary:
		return color.White
	case theme.ColorNameForeground:
		return color.NRGBA{R: 0x1A, G: 0x1A, B: 0x1A, A: 0xFF}
	case theme.ColorNameSuccess:
		return okGreen
	case theme.ColorNameError:
		return leifengRed
	case theme.ColorNameDisabled, theme.ColorNamePlaceHolder:
		return color.NRGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xFF}
	}
	return theme.DefaultTheme().Color(n, theme.VariantLight)
}

func (t kioskTheme) Font(s fyne.TextStyle) fyne.Resource {
	if s.Monospace || s.Symbol {
		return theme.DefaultTheme().Font(s)
	}
	return theFont
}

func (t kioskTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

func (t kioskTheme) Size(n fyne.ThemeSizeName) float32 {
	k := float32(1)
	if t.large {
		k = 1.5
	}
	switch n {
	case theme.SizeNameText:
		return 18 * k
	case theme.SizeNameHeadingText:
		return 28 * k
	case theme.SizeNameSubHeadingText:
		return 22 * k
	case theme.SizeNameCaptionText:
		return 14 * k
	case theme.SizeNameInnerPadding:
		return 12
	case theme.SizeNamePadding:
		return 6
	case theme.SizeNameInlineIcon:
		return 24 * k
	case theme.SizeNameScrollBar:
		return 12
	}
	return theme.DefaultTheme().Size(n)
}
