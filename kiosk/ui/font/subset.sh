#!/bin/sh
# Regenerates NotoSansSC-kiosk.otf, the kiosk's bundled CJK font: the
# runes of the string catalogue and the built-in demo config, printable
# ASCII and a few symbols, cut from Debian's fonts-noto-cjk with fonttools.
#   apt-get install fonts-noto-cjk fonttools && sh kiosk/ui/font/subset.sh
set -eu
cd "$(dirname "$0")"
src=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  cat ../catalog.go ../defaults.go
  printf '%s\n' ' !"#$%&'"'"'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
  printf '%s\n' '，。、：；！？（）“”‘’《》【】—…·●○▼▲◀▶✓✗★☆～　０１２３４５６７８９'
} >"$tmp"
# Font number 2 of the collection is Noto Sans CJK SC.
pyftsubset "$src" --font-number=2 --text-file="$tmp" --layout-features='*' \
  --no-hinting --desubroutinize --output-file=NotoSansSC-kiosk.otf
ls -l NotoSansSC-kiosk.otf
