package render

import (
	"bufio"
	"unicode/utf8"
)

// columns aligns tab-separated rows in blocks, as text/tabwriter does
// with a padding of two spaces and no flags: every cell but a row's last
// is padded to its column's widest cell in the block plus two. A summary
// of a million flows spent a tenth of its time in tabwriter, which
// handles much more (escapes, HTML, cells of any shape); this keeps the
// block's bytes, the cell ends and widths, and nothing else.
type columns struct {
	w     *bufio.Writer
	buf   []byte  // the block's rows, tabs and newlines included
	ends  []int32 // for every cell, the offset in buf just past it
	wide  []int32 // for every cell, its width (0 for a row's last, never padded)
	cells []int16 // cells per row
	width []int   // per column, the widest cell of the block
}

const columnPadding = 2

// row adds one row: cells separated by tabs, ending in a newline.
func (c *columns) row(b []byte) {
	n := 0
	start := len(c.buf)
	c.buf = append(c.buf, b...)
	for i, ch := range b {
		if ch != '\t' && ch != '\n' {
			continue
		}
		end := start + i
		c.ends = append(c.ends, int32(end))
		w := 0
		if ch == '\t' {
			w = cellWidth(c.buf[c.cellStart(len(c.ends)-1):end])
			if n == len(c.width) {
				c.width = append(c.width, 0)
			}
			c.width[n] = max(c.width[n], w)
		}
		c.wide = append(c.wide, int32(w))
		n++
	}
	c.cells = append(c.cells, int16(n))
}

// cellStart returns where cell i (an index in ends) begins.
func (c *columns) cellStart(i int) int {
	if i == 0 {
		return 0
	}
	return int(c.ends[i-1]) + 1
}

func cellWidth(b []byte) int {
	for _, ch := range b {
		if ch >= utf8.RuneSelf {
			return utf8.RuneCount(b)
		}
	}
	return len(b)
}

var spaces = []byte("                                                                ")

// flush writes the block, aligned, and starts a new one.
func (c *columns) flush() error {
	cell := 0
	for _, n := range c.cells {
		for j := 0; j < int(n); j++ {
			c.w.Write(c.buf[c.cellStart(cell):c.ends[cell]])
			w := int(c.wide[cell])
			cell++
			if j == int(n)-1 {
				c.w.WriteByte('\n')
				continue
			}
			for pad := c.width[j] + columnPadding - w; pad > 0; {
				k := min(pad, len(spaces))
				c.w.Write(spaces[:k])
				pad -= k
			}
		}
	}
	c.buf, c.ends, c.wide, c.cells = c.buf[:0], c.ends[:0], c.wide[:0], c.cells[:0]
	clear(c.width)
	c.width = c.width[:0]
	_, err := c.w.Write(nil)
	return err
}
