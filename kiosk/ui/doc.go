// Package ui is the kiosk's touchscreen, built with Fyne: the idle screen
// that asks for a tap, the result of each tap, the service menu, the
// contact board (公示栏), the honor roll, announcements, registering a need
// (需求登记) and the admin screen.
//
// The UI never sits on the record path. The reader loop records a tap
// first and then hands the outcome to Notify, which never blocks; the UI
// shows it on the Fyne thread. A need registered on screen is written by
// the Core off the UI thread. Everything shown comes from a ConfigSource,
// so a new station config changes the screens without a restart; a kiosk
// the cloud has not configured yet shows a neutral 待配置 home, never a
// made-up station. Hours come only from the cloud (HoursSource), dated
// when older than a day. Times are shown in China Standard Time.
//
// Every string lives in one catalogue (package catalog, which also gives
// each error code its sentence for the voice, the simulated reader and
// the logs); each screen has its own file. The bundled font
// (font/, Noto Sans CJK SC under the SIL OFL) holds the whole 通用规范汉字表
// and GB 2312, gzipped and decompressed on first use; a character outside
// it is drawn by an installed fonts-noto-cjk if there is one, else as a
// box, and logged once with its code point.
//
// Every screen is built for the window it is shown in (layout.go): at
// 800×480, 1024×600 and 1280×800, in normal and large text, nothing is cut
// off, long content scrolls with a visible cue, and every touch target is
// at least MinTarget (MinTargetLarge in large text) on each side.
package ui
