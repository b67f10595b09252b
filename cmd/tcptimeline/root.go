package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// Main runs the command line and returns the exit status.
func Main(ctx context.Context, args []string, io *IOStreams) int {
	root := NewCmdRoot(io)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	var inErr *inputError
	switch {
	case errors.As(err, &inErr):
		for _, e := range inErr.errs { // each file that could not be read, once
			fmt.Fprintf(io.ErrOut, "tcptimeline: %v\n", e)
		}
	case err != nil:
		fmt.Fprintf(io.ErrOut, "tcptimeline: %v\n", err)
	}
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) || cmd == root || isFlagError(err) {
			fmt.Fprintf(io.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	if sig := interrupted(ctx); sig != 0 {
		fmt.Fprintf(io.ErrOut, "tcptimeline: interrupted by %s: the output covers what was read until then\n", sigName(sig))
		return exitInterrupted(sig)
	}
	return exitCode(err)
}

func isFlagError(err error) bool {
	_, ok := err.(*flagError)
	return ok
}

// flagError wraps cobra's flag parsing errors so they exit 2 with a hint.
type flagError struct{ error }

// NewCmdRoot builds the command tree.
func NewCmdRoot(io *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "tcptimeline",
		Short: "Explain TCP listen-queue overflows from a tcpdump capture",
		Long: `tcptimeline reads capture files (pcap, pcapng, gzip'd or not, "-" for stdin),
tracks a TCP state machine per flow for both endpoints, labels the patterns of a
Linux listen-queue overflow (ignored handshake ACKs, dropped SYNs, ghost
connections, resets on overflow, SYN-ACK retries exhausted) and prints an
annotated timeline.

Exit status: 0 fine, 1 a finding asked for with --fail-on (or a failed check),
2 a usage error, an input that cannot be read or an output that cannot be
written, 130 (SIGINT) or 143 (SIGTERM) when interrupted: what was read until
then is still written, marked partial.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this `file` (for developers)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	var memProfile string
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile to this `file` when the command ends (for developers)")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	var stopProfile func()
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if memProfile != "" {
			stopProfile = func() {
				runtime.GC() // the profile holds what the last collection saw
				if f, err := os.Create(memProfile); err == nil {
					pprof.Lookup("allocs").WriteTo(f, 0)
					f.Close()
				}
			}
		}
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if stopProfile != nil {
			stopProfile()
		}
	}
	root.AddCommand(NewCmdTimeline(io, nil))
	root.AddCommand(NewCmdSummary(io, nil))
	root.AddCommand(NewCmdCheck(io, nil))
	root.AddCommand(NewCmdReport(io, nil))
	root.AddCommand(NewCmdLadder(io))
	root.AddCommand(NewCmdChart(io))
	root.AddCommand(NewCmdDemo(io))
	root.AddCommand(NewCmdLabels(io))
	root.AddCommand(NewCmdVersion(io))
	return root
}
