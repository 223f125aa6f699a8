#!/bin/sh
# Regenerates NotoSansSC-cert.ttf.gz, the certificates' bundled CJK font,
# from the kiosk's bundled font (kiosk/ui/font/NotoSansSC-kiosk.otf.gz:
# Noto Sans CJK SC, SIL Open Font License 1.1, see OFL.txt, cut to the
# 8,105 characters of the 通用规范汉字表, all of GB 2312, ASCII, Latin-1
# and common punctuation by kiosk/ui/font/subset.sh). The PDF library
# (github.com/go-pdf/fpdf) embeds only TrueType outlines, so the kiosk
# font's CFF outlines are converted to quadratic (TrueType) ones with
# fonttools' cu2qu (error ≤ 1 unit of 1000), the same glyphs and cmap:
#   apt-get install fonttools && sh cloud/certificate/font/make-font.sh
# Run it again after subset.sh changes the kiosk's font.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat ../../../kiosk/ui/font/NotoSansSC-kiosk.otf.gz >"$tmp/in.otf"
/usr/bin/python3 - "$tmp/in.otf" "$tmp/out.ttf" <<'PY'
import sys
from fontTools.ttLib import TTFont, newTable
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
# The modified date stays the source's: the same input makes the same file.
f = TTFont(sys.argv[1], recalcTimestamp=False)
order = f.getGlyphOrder()
gs = f.getGlyphSet()
glyphs = {}
for name in order:
    pen = TTGlyphPen(gs)
    gs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
    glyphs[name] = pen.glyph()
f["loca"] = newTable("loca")
f["glyf"] = glyf = newTable("glyf")
glyf.glyphOrder = order
glyf.glyphs = glyphs
del f["CFF "]
# The layout tables are for shaping engines; the PDF library places one
# glyph per character and never reads them.
for t in ("VORG", "GSUB", "GPOS", "GDEF", "BASE"):
    if t in f:
        del f[t]
glyf.compile(f)
maxp = newTable("maxp")
maxp.tableVersion = 0x00010000
for k in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
          "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
    setattr(maxp, k, 0)
maxp.maxZones = 1
f["maxp"] = maxp
f["post"].formatType = 3.0
f.sfntVersion = "\000\001\000\000"
f.save(sys.argv[2])
PY
gzip -9n <"$tmp/out.ttf" >NotoSansSC-cert.ttf.gz
ls -l NotoSansSC-cert.ttf.gz
