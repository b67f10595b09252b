package main

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/spf13/cobra"
)

// demoCapture is a small real capture from the capture lab: a server whose
// accept queue is full, clients whose ACKs are ignored, and a client that
// gives up while the server still holds its connection (a ghost).
//
//go:embed demo/ghost.pcap
var demoCapture []byte

// demoName is what the output calls the embedded capture.
const demoName = "demo: testdata/lab/ghost/server.pcap (embedded)"

// NewCmdDemo builds "tcptimeline demo".
func NewCmdDemo(io *IOStreams) *cobra.Command {
	opts := &TimelineOptions{IO: io, Format: "text", Time: "rel"}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the timeline on a capture shipped with tcptimeline",
		Long: `Run the annotated timeline on a small real capture embedded in the binary:
a Linux server (kernel 6.18) whose application accepts too slowly, recorded in
the capture lab (testdata/lab/ghost). Nothing to download.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			demoIO := *io
			demoIO.In = bytes.NewReader(demoCapture)
			opts.IO = &demoIO
			opts.Files = []string{"-"}
			opts.stdinName = demoName
			fmt.Fprintln(io.ErrOut, "tcptimeline: demo: the embedded capture testdata/lab/ghost/server.pcap")
			return runTimeline(cmd.Context(), opts)
		},
	}
	opts.addFlags(cmd)
	cmd.Flags().BoolVar(&opts.Anomalies, "anomalies", false, "show only flows that carry a label")
	cmd.Flags().StringVar(&opts.Time, "time", "rel", "times: "+relTimeHelp+" or abs (UTC, microseconds)")
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text, json or jsonl")
	return cmd
}
