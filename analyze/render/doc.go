// Package render turns the plain data of package analyze (finished flows,
// listener and capture views) into output: the annotated text timeline and
// the tcptimeline/v1 JSON document. Renderers only read that data. Each
// takes flows one at a time, as the analysis finishes them, and the
// summary at the end, so output streams.
//
// Known limits: the text timeline's columns assume states fit 24
// characters; text from capture files (file and interface names) is
// escaped before it reaches a terminal, addresses need no escaping.
package render
