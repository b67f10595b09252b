package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"

	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tcptimeline/tcptimeline/analyze"
	"github.com/tcptimeline/tcptimeline/analyze/render"
)

// FigureOptions are the options of "tcptimeline ladder" and "chart".
type FigureOptions struct {
	IO *IOStreams
	inputOptions
	Output    string
	Anonymize bool
	Time      string
	Title     string
}

// NewCmdLadder builds "tcptimeline ladder".
func NewCmdLadder(io *IOStreams) *cobra.Command {
	opts := &FigureOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "ladder FILE... --flow FLOW -o flow.svg",
		Short: "Draw one flow as a ladder (sequence) diagram, SVG or HTML",
		Long: `Draw one flow as a ladder diagram: client and server columns, one arrow per
packet (slanted by the delay the capture implies), dropped and ignored packets
crossed, each endpoint's state written where it changes, labels and their
explanations beside the arrows. -o flow.svg writes SVG, -o flow.html a page
with the SVG inline; without -o the SVG goes to standard output. Without
--flow, the first flow that carries a label is drawn.`,
		Example: `  tcptimeline ladder testdata/lab/ghost/server.pcap --flow 10.77.0.2:41005 -o ghost.svg
  tcptimeline ladder incident.pcap --flow 12 --anonymize -o flow12.html`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			return runLadder(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this `file`: .svg or .html")
	cmd.Flags().BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	cmd.Flags().StringVar(&opts.Time, "time", "rel", "times: "+relTimeHelp+" or abs (UTC)")
	return cmd
}

// NewCmdChart builds "tcptimeline chart".
func NewCmdChart(io *IOStreams) *cobra.Command {
	opts := &FigureOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "chart FILE... -o incident.svg",
		Short: "Draw the incident at a glance: counts over time per listener, SVG or HTML",
		Long: `Draw counts over the capture's own time (from its first packet, in bins as
narrow as the span allows: milliseconds to days), per listener: new SYNs, SYNs
dropped, SYN-ACKs retransmitted after the client's ACK, client data ignored,
ghost connections and resets, with the overflow episodes shaded; over them
the SYN and accept queues' occupancy and the connections each side believes
ESTABLISHED. -o incident.svg writes SVG, -o incident.html a page; without -o
the SVG goes to standard output.`,
		Args: opts.fileArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.setFiles(args); err != nil {
				return err
			}
			return runChart(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this `file`: .svg or .html")
	cmd.Flags().BoolVar(&opts.Anonymize, "anonymize", false, "replace addresses, file and interface names with pseudonyms numbered by first appearance (host-1, capture-1, if-1, ...; ports kept)")
	cmd.Flags().StringVar(&opts.Title, "title", "", "the chart's title")
	return cmd
}

// figureFormat tells SVG from HTML by the output's extension.
func figureFormat(out string) (html bool, err error) {
	switch strings.ToLower(filepath.Ext(out)) {
	case "", ".svg":
		return false, nil
	case ".html", ".htm":
		return true, nil
	}
	return false, usagef("-o %q: write .svg or .html", out)
}

// writeOutput writes data to the -o file (atomically, output.go), or to
// standard output.
func writeOutput(streams *IOStreams, out string, data []byte) error {
	if out == "" {
		return writeStdout(streams, bytesWriter(data))
	}
	return writeFiles(streams, []string{out}, []func(io.Writer) error{bytesWriter(data)})
}

func runLadder(ctx context.Context, opts *FigureOptions) (err error) {
	addrs, names, anon := opts.pseudonyms(opts.Anonymize)
	defer func() { err = anonymizeErr(err, anon) }()
	html, err := figureFormat(opts.Output)
	if err != nil {
		return err
	}
	if opts.Time != "rel" && opts.Time != "abs" {
		return usagef("--time must be rel or abs, not %q", opts.Time)
	}
	keep, err := opts.flowFilter(names)
	if err != nil {
		return err
	}
	var chosen *analyze.Flow
	var matches []string // every flow the selector matched, when it is no flow number
	_, byNumber := strconv.Atoi(strings.TrimSpace(opts.Flow))
	a := &analysis{io: opts.IO, in: &opts.inputOptions, record: true, recordLimit: render.LadderMaxPackets, quiet: opts.Quiet, addrs: addrs, anon: anon, keep: keep}
	sum, openErrs, err := a.run(ctx, func(f *analyze.Flow) error {
		if chosen == nil && keep(f) && (opts.Flow != "" || f.Labels != 0) {
			chosen = f
		}
		if opts.Flow != "" && byNumber != nil && keep(f) && len(matches) < 20 {
			matches = append(matches, fmt.Sprintf("%d (%s -> %s)", f.ID, anon.AddrPort(f.Client), anon.AddrPort(f.Server)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if chosen == nil {
		if opts.Flow != "" {
			return usagef("no flow matches --flow %q", opts.Flow)
		}
		return usagef("no flow carries a label: choose one with --flow")
	}
	if len(matches) > 1 {
		return usagef("--flow %q matches several flows; a ladder draws one: choose it by number: %s", opts.Flow, strings.Join(matches, ", "))
	}
	lo := render.LadderOptions{AbsTime: opts.Time == "abs", Anonymize: anon.Func(), Interrupted: sum.Interrupted}
	draw := render.Ladder
	if html {
		draw = render.LadderHTML
	}
	return opts.write(openErrs, func(w io.Writer) error { return draw(w, chosen, lo) })
}

func runChart(ctx context.Context, opts *FigureOptions) (err error) {
	addrs, names, anon := opts.pseudonyms(opts.Anonymize)
	defer func() { err = anonymizeErr(err, anon) }()
	html, err := figureFormat(opts.Output)
	if err != nil {
		return err
	}
	keep, err := opts.flowFilter(names)
	if err != nil {
		return err
	}
	// The listeners of the flows a filter shows: one entry per listener.
	shown := map[netip.AddrPort]bool{}
	a := &analysis{io: opts.IO, in: &opts.inputOptions, quiet: opts.Quiet, addrs: addrs, anon: anon, keep: keep}
	sum, openErrs, err := a.run(ctx, func(f *analyze.Flow) error {
		if keep(f) {
			shown[f.Server] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	co := render.ChartOptions{Title: opts.Title, Anonymize: anon.Func()}
	if sum.Hidden > 0 {
		co.Shown = shown
	}
	draw := render.Chart
	if html {
		draw = render.ChartHTML
	}
	return opts.write(openErrs, func(w io.Writer) error { return draw(w, sum, co) })
}

// write draws the figure and writes it to -o or standard output; the
// inputs that could not be read make the error.
func (o *FigureOptions) write(openErrs []error, draw func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := draw(&buf); err != nil {
		return err
	}
	if err := writeOutput(o.IO, o.Output, buf.Bytes()); err != nil {
		return err
	}
	if len(openErrs) > 0 {
		return &inputError{openErrs}
	}
	return nil
}

// figures draws the incident chart and the ladder of the report's first
// representative flow.
func figures(rep *render.Report, an *render.Anonymizer, abs bool) (chart, ladder []byte, err error) {
	var c bytes.Buffer
	if err := render.Chart(&c, rep.Summary, render.ChartOptions{Anonymize: an.Func()}); err != nil {
		return nil, nil, err
	}
	if f := rep.First(); f != nil {
		var l bytes.Buffer
		if err := render.Ladder(&l, f, render.LadderOptions{AbsTime: abs, Anonymize: an.Func(), Interrupted: rep.Summary.Interrupted}); err != nil {
			return nil, nil, err
		}
		ladder = l.Bytes()
	}
	return c.Bytes(), ladder, nil
}
