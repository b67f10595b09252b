package render

import (
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// Shared pieces of the SVG renderers (Ladder, Chart): an element writer
// that escapes every text, a text-width estimate to size canvases, and the
// palette, chosen by meaning.

// Colours by meaning.
const (
	colInk     = "#1f1f1f" // normal packets, axes, text
	colMuted   = "#6b6b6b" // secondary text, grid, break markers
	colFaint   = "#c8c8c8" // lifelines, grid lines
	colWarn    = "#c62828" // labels, crosses: what the analysis flags
	colWarnInk = "#8e1b1b" // notes explaining a label
	colChange  = "#1565c0" // state changes
	colShade   = "#fde2e2" // overflow episodes
)

// fontFamily is a generic monospace family: character widths are then
// close to charWidth times the font size everywhere.
const fontFamily = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"

// charWidth is the approximate advance of one character of a monospace
// font, as a fraction of the font size (7.2 px at 12 px).
const charWidth = 0.6

// textWidth estimates the width in pixels of s at font size size.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * charWidth
}

// xmlText makes s safe as XML character data or an attribute value:
// characters XML 1.0 does not allow (control characters, invalid UTF-8)
// become U+FFFD, and markup characters are escaped.
func xmlText(s string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	return html.EscapeString(clean)
}

// num formats a coordinate: one decimal, no trailing ".0", so output is
// compact and deterministic.
func num(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// svgDoc accumulates an SVG document's body; write wraps it in the <svg>
// element once the canvas size is known.
type svgDoc struct {
	b strings.Builder
}

func (d *svgDoc) raw(format string, args ...any) { fmt.Fprintf(&d.b, format, args...) }

// textOpts are a text element's presentation.
type textOpts struct {
	size   float64
	anchor string // "start" (default), "middle", "end"
	fill   string
	weight string // "" or "bold"
	italic bool
	class  string
}

// text writes one <text> element with s escaped; the x, y and font-size
// attributes are always present so tests can check the text lies inside
// the canvas.
func (d *svgDoc) text(x, y float64, s string, o textOpts) {
	d.b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `" font-size="` + num(o.size) + `"`)
	if o.anchor != "" && o.anchor != "start" {
		d.b.WriteString(` text-anchor="` + o.anchor + `"`)
	}
	if o.fill != "" {
		d.b.WriteString(` fill="` + o.fill + `"`)
	}
	if o.weight != "" {
		d.b.WriteString(` font-weight="` + o.weight + `"`)
	}
	if o.italic {
		d.b.WriteString(` font-style="italic"`)
	}
	if o.class != "" {
		d.b.WriteString(` class="` + o.class + `"`)
	}
	// SVG collapses runs of spaces; a no-break space after a space keeps
	// the columns of monospace text in every renderer.
	d.b.WriteString(">" + strings.ReplaceAll(xmlText(s), "  ", " &#160;") + "</text>\n")
}

func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string, width float64, extra string) {
	d.raw(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`+"\n",
		num(x1), num(y1), num(x2), num(y2), stroke, num(width), extra)
}

func (d *svgDoc) rect(x, y, w, h float64, fill, stroke, extra string) {
	d.raw(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(x), num(y), num(w), num(h), fill)
	if stroke != "" {
		d.raw(` stroke="%s"`, stroke)
	}
	d.raw("%s/>\n", extra)
}

func (d *svgDoc) title(s string) { d.b.WriteString("<title>" + xmlText(s) + "</title>\n") }

// write emits the complete SVG document, width by height pixels, with a
// viewBox of the same size, a white background, and desc as its
// accessible title.
func (d *svgDoc) write(w io.Writer, width, height float64, desc string) error {
	var out strings.Builder
	out.Grow(d.b.Len() + 512)
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s">`+"\n",
		num(width), num(height), num(width), num(height), fontFamily)
	out.WriteString("<title>" + xmlText(desc) + "</title>\n")
	fmt.Fprintf(&out, `<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", num(width), num(height))
	out.WriteString(d.b.String())
	out.WriteString("</svg>\n")
	_, err := io.WriteString(w, out.String())
	return err
}

// wrap breaks s into lines of at most width characters at spaces (a word
// longer than width is cut), at most maxLines lines; when text is left
// over, the last line ends with "…" and truncated is true.
func wrap(s string, width, maxLines int) (lines []string, truncated bool) {
	words := strings.Fields(s)
	cur := ""
	for _, w := range words {
		for utf8.RuneCountInString(w) > width {
			r := []rune(w)
			if cur != "" {
				lines = append(lines, cur)
				cur = ""
			}
			lines = append(lines, string(r[:width]))
			w = string(r[width:])
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		last := []rune(lines[maxLines-1])
		if len(last) > width-1 {
			last = last[:width-1]
		}
		lines[maxLines-1] = strings.TrimRight(string(last), " ") + "…"
		truncated = true
	}
	return lines, truncated
}

// htmlPage writes a self-contained HTML page: head with title and style,
// then body, which the caller writes.
func htmlPage(w io.Writer, title string, body func(b *strings.Builder) error) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<title>" + xmlText(title) + "</title>\n")
	b.WriteString(`<style>
body { font-family: ` + fontFamily + `; font-size: 13px; color: ` + colInk + `; margin: 20px; background: #ffffff; }
h1 { font-size: 16px; margin: 0 0 8px 0; }
p { margin: 4px 0; }
.warn { color: ` + colWarn + `; font-weight: bold; }
.change { color: ` + colChange + `; }
.muted { color: ` + colMuted + `; }
ul.legend { list-style: none; padding: 0; margin: 8px 0 12px 0; }
ul.legend li { display: inline-block; margin-right: 18px; }
svg { display: block; }
@media print { body { margin: 0; } svg { max-width: 100%; height: auto; } }
</style>
</head>
<body>
`)
	if err := body(&b); err != nil {
		return err
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
