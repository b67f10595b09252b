package render

import (
	"strings"
	"unicode"
)

// Text from the input in documents. A report's blocks are written as
// Markdown and as HTML from one layout, in which our own markup (`code`,
// **strong**) is literal; text that came from the input or the user (a
// file name, a title) is wrapped by lit, so that each writer escapes it
// its own way and no markup in it reaches a renderer.

const (
	litOpen  = "\x00"
	litClose = "\x01"
)

// lit marks s as text from the input. Control characters (newlines
// included: one could end a Markdown block) become spaces.
func lit(s string) string {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return litOpen + clean + litClose
}

// litSplit splits s into our text (even indexes) and input text (odd).
func litSplit(s string) []string {
	var out []string
	for {
		i := strings.Index(s, litOpen)
		if i < 0 {
			return append(out, s)
		}
		j := strings.Index(s[i:], litClose)
		if j < 0 {
			return append(out, s[:i], s[i+1:])
		}
		out = append(out, s[:i], s[i+1:i+j])
		s = s[i+j+1:]
	}
}

// unlit drops the marks, for text written verbatim (code blocks).
func unlit(s string) string {
	return strings.NewReplacer(litOpen, "", litClose, "").Replace(s)
}

// mdInline writes a block's text as Markdown: our markup as it is, text
// from the input escaped.
func mdInline(s string) string {
	parts := litSplit(s)
	for i := 1; i < len(parts); i += 2 {
		parts[i] = mdEscape(parts[i])
	}
	return strings.Join(parts, "")
}

// mdEscape backslash-escapes the characters that can start markup inline
// in CommonMark and GitHub Markdown (emphasis, code, links, images, raw
// HTML, entities, tables, strikethrough, autolinks).
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()<>#!|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdFence returns a code fence longer than any run of backticks in s.
func mdFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// mdURL escapes a link destination: a relative path we chose, written in
// angle brackets so that spaces and parentheses in it stay part of it.
func mdURL(s string) string {
	s = unlit(s)
	if strings.ContainsAny(s, " ()<>") {
		return "<" + strings.NewReplacer("<", "%3C", ">", "%3E").Replace(s) + ">"
	}
	return s
}
