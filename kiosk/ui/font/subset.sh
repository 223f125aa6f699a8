#!/bin/sh
# Regenerates NotoSansSC-kiosk.otf.gz, the kiosk's bundled CJK font, from
# Debian's fonts-noto-cjk (Noto Sans CJK SC, SIL Open Font License 1.1,
# see OFL.txt) with fonttools' pyftsubset:
#   apt-get install fonts-noto-cjk fonttools && sh kiosk/ui/font/subset.sh
# `sh subset.sh --chars FILE` only writes the characters it would keep to
# FILE and stops (the kiosk/ui tests use it to check the font is current).
# It holds every character of the 通用规范汉字表 (8,105, which include the
# rare characters of personal and place names of its third level), all of
# GB 2312 (hanzi and symbols), the kiosk's own strings, ASCII, Latin-1 and
# the punctuation and symbols a config may carry. A character outside it is
# drawn by an installed fonts-noto-cjk if there is one, else as a box, and
# the kiosk logs its code point once.
set -eu
out=
if [ "${1:-}" = --chars ]; then
	out=$(realpath -m "$2")
fi
cd "$(dirname "$0")"
src=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/chars.txt" <<'PY'
import glob, sys
chars = set()
for line in open('../testdata/tongyong8105.txt', encoding='utf-8'):
    if not line.startswith('#'):
        chars.update(line.strip())
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.update(bytes([hi, lo]).decode('gb2312'))
        except UnicodeDecodeError:
            pass
# The kiosk's own strings: its catalogue (kiosk/ui/catalog) and whatever
# a screen's file writes itself, one file per screen. Globs, so a new screen
# or a split file is taken without editing this list; tests are left out
# (their long names and rare characters are what the font must cover on its
# own, not what should shape it).
names = sorted(n for n in glob.glob('../*.go') + glob.glob('../catalog/*.go') if not n.endswith('_test.go'))
if '../catalog/catalog.go' not in names:
    sys.exit('subset.sh: kiosk/ui/catalog/catalog.go not found; update the source globs')
for name in names:
    chars.update(c for c in open(name, encoding='utf-8').read() if ord(c) > 0x7F)
# (No ✗: Noto Sans CJK SC has no glyph for it.)
chars.update('，。、：；！？（）“”‘’《》【】—…·●○▼▲◀▶✓★☆～　０１２３４５６７８９□■')
open(sys.argv[1], 'w', encoding='utf-8').write(''.join(sorted(chars)))
PY
if [ -n "$out" ]; then
	cp "$tmp/chars.txt" "$out"
	exit 0
fi
# Font number 2 of the collection is Noto Sans CJK SC. Only the layout
# features Chinese and Latin text need are kept: the others (alternates,
# other locales' forms, vertical and width variants) would double the glyphs,
# and Fyne holds a copy of the outlines per text style. The .notdef glyph
# keeps its outline: a missing character shows as a box, not as nothing.
pyftsubset "$src" --font-number=2 --text-file="$tmp/chars.txt" \
  --unicodes='U+0020-007E,U+00A0-02AF,U+02B0-02FF,U+20A0-20CF,U+2000-206F,U+2100-218F,U+2190-21FF,U+2460-24FF,U+25A0-25FF,U+2600-26FF,U+2713,U+3000-303F,U+FE30-FE4F,U+FF00-FFEF' \
  --layout-features='ccmp,kern,liga,mark,mkmk' --drop-tables+=VORG,vhea,vmtx --no-hinting --notdef-outline --output-file="$tmp/NotoSansSC-kiosk.otf"
# Fyne draws a character no font has as U+FFFD, in the first font that
# maps U+FFFD: map it to the white square, so a missing character shows as
# a box (tofu) and not as the replacement character "�".
/usr/bin/python3 - "$tmp/NotoSansSC-kiosk.otf" <<'PY'
import sys
from fontTools.ttLib import TTFont
f = TTFont(sys.argv[1])
box = f.getBestCmap()[0x25A1]
for t in f['cmap'].tables:
    if t.isUnicode():
        t.cmap[0xFFFD] = box
f.save(sys.argv[1])
PY
gzip -9 -n -c "$tmp/NotoSansSC-kiosk.otf" >NotoSansSC-kiosk.otf.gz
rm -f NotoSansSC-kiosk.otf
ls -l NotoSansSC-kiosk.otf.gz
