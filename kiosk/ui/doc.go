// Package ui is the kiosk's touchscreen, built with Fyne: the idle screen
// that asks for a tap, the result of each tap, the service menu, the
// contact board (公示栏), the honor roll, announcements, registering a need
// (需求登记) and the admin screen.
//
// The UI never sits on the record path. The reader loop records a tap
// first and then hands the outcome to Notify, which never blocks; the UI
// shows it on the Fyne thread. A need registered on screen is written by
// the Core off the UI thread. Everything shown comes from a ConfigSource,
// so a new station config changes the screens without a restart. Every
// string lives in one catalogue (catalog.go), and a bundled CJK font subset
// (font/) renders Chinese on a Pi with no CJK font installed.
package ui
