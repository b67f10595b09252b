// Package render turns the plain data of package analyze (finished flows,
// listener and capture views) into output: the annotated text timeline,
// the tcptimeline/v1 JSON document (and JSON lines), the summary table
// (text, CSV, JSON), the Markdown and HTML post-mortem report, the ladder
// diagram of one flow and the incident chart (SVG, or HTML with the SVG
// inline), and beside them the reconciliation with the kernel's counters
// and ss (counters.go) when Options.Kernel or ReportOptions.Kernel is
// set. Renderers only read that data. The streaming ones take flows one
// at a time, as the analysis finishes them, and the summary at the end;
// after an interrupt they end early and mark the result partial
// (partial.go). Anonymizer replaces what identifies a network (anon.go);
// Markdown and HTML escape text from the input (escape.go).
//
// Known limits: the text timeline's columns assume states fit 24
// characters; text from capture files (file and interface names) is
// escaped before it reaches a terminal, addresses need no escaping; SVG
// text widths are estimated from the character count of a monospace font;
// the anonymizer finds addresses written in sentences by parsing every run
// of hex digits, dots and colons, so a version number shaped like an IPv4
// address ("6.18.44.1") is replaced too, and it cannot know a hostname
// the capture's metadata does not name.
package render
