package export

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// The PDF report's fonts (see fonts/README.md and docs/exports.md).
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegularTTF []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBoldTTF []byte
	//go:embed fonts/DroidSansFallback.ttf
	fontCJKTTF []byte
)

// coverage is the set of characters of the Basic Multilingual Plane that a
// font has a glyph for. The PDF library handles only that plane.
type coverage [65536 / 64]uint64

func (c *coverage) has(r rune) bool {
	return r >= 0 && r < 65536 && c[r/64]&(1<<(r%64)) != 0
}

func (c *coverage) add(r uint32) {
	if r < 65536 {
		c[r/64] |= 1 << (r % 64)
	}
}

// fontCoverage is computed once, on first use.
var fontCoverage = sync.OnceValues(func() (*[3]coverage, error) {
	var cs [3]coverage
	for i, f := range [][]byte{fontRegularTTF, fontBoldTTF, fontCJKTTF} {
		if err := readCmap(f, &cs[i]); err != nil {
			return nil, fmt.Errorf("font %d: %w", i, err)
		}
	}
	return &cs, nil
})

var errBadFont = errors.New("malformed TrueType font")

// readCmap adds to c the characters that the Unicode cmap subtable of the
// TrueType font ttf maps to a glyph other than .notdef: format 4 (BMP) and,
// when present, format 12.
func readCmap(ttf []byte, c *coverage) error {
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(ttf[off:])), true
	}
	u32 := func(off int) (uint32, bool) {
		if off < 0 || off+4 > len(ttf) {
			return 0, false
		}
		return binary.BigEndian.Uint32(ttf[off:]), true
	}
	n, ok := u16(4)
	if !ok {
		return errBadFont
	}
	cmap := -1
	for i := range n {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return errBadFont
		}
		if string(ttf[rec:rec+4]) == "cmap" {
			off, _ := u32(rec + 8)
			cmap = int(off)
		}
	}
	if cmap < 0 {
		return fmt.Errorf("%w: no cmap table", errBadFont)
	}
	ntables, ok := u16(cmap + 2)
	if !ok {
		return errBadFont
	}
	found := false
	for i := range ntables {
		rec := cmap + 4 + 8*i
		platform, ok1 := u16(rec)
		encoding, ok2 := u16(rec + 2)
		off, ok3 := u32(rec + 4)
		if !ok1 || !ok2 || !ok3 {
			return errBadFont
		}
		if !(platform == 0 || platform == 3 && (encoding == 1 || encoding == 10)) {
			continue
		}
		sub := cmap + int(off)
		format, ok := u16(sub)
		if !ok {
			return errBadFont
		}
		switch format {
		case 4:
			segX2, ok := u16(sub + 6)
			if !ok {
				return errBadFont
			}
			ends, starts, deltas, ranges := sub+14, sub+16+segX2, sub+16+2*segX2, sub+16+3*segX2
			for s := 0; s < segX2; s += 2 {
				end, ok1 := u16(ends + s)
				start, ok2 := u16(starts + s)
				delta, ok3 := u16(deltas + s)
				ro, ok4 := u16(ranges + s)
				if !ok1 || !ok2 || !ok3 || !ok4 {
					return errBadFont
				}
				for r := start; r <= end && r != 0xFFFF; r++ {
					g := 0
					if ro == 0 {
						g = (r + delta) & 0xFFFF
					} else {
						gi, ok := u16(ranges + s + ro + 2*(r-start))
						if !ok {
							return errBadFont
						}
						if gi != 0 {
							g = (gi + delta) & 0xFFFF
						}
					}
					if g != 0 {
						c.add(uint32(r))
					}
				}
			}
			found = true
		case 12:
			ngroups, ok := u32(sub + 12)
			if !ok {
				return errBadFont
			}
			for g := range int(ngroups) {
				start, ok1 := u32(sub + 16 + 12*g)
				end, ok2 := u32(sub + 20 + 12*g)
				if !ok1 || !ok2 {
					return errBadFont
				}
				for r := start; r <= end && r < 65536; r++ {
					c.add(r)
				}
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: no Unicode cmap subtable", errBadFont)
	}
	return nil
}
