package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// ioStreams carries the lab's standard streams, so commands can be tested.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

func main() { os.Exit(mainExit()) }

// mainExit runs the command line and decides the exit code: 0 on success,
// 1 on any error.
func mainExit() int {
	streams := ioStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := newCmdRoot(streams)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(streams.ErrOut, "tcplab:", err)
		return 1
	}
	return 0
}

func newCmdRoot(s ioStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "tcplab",
		Short:         "Record real listen-queue overflows in network namespaces",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newCmdRun(s), newCmdRunAll(s), newCmdValidate(s), newCmdChild(s, "serve"), newCmdChild(s, "clients"), newCmdChild(s, "route"))
	return root
}

func newCmdRun(s ioStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run SCENARIO.json...",
		Short: "Run scenarios (as root), writing captures and truth.json next to each file",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMany(s, args)
		},
	}
	addRTFlag(cmd)
	return cmd
}

// addRTFlag adds --rt: run the lab processes SCHED_FIFO instead of nice -15.
func addRTFlag(cmd *cobra.Command) {
	var rt bool
	cmd.Flags().BoolVar(&rt, "rt", false, "run server, clients, tcpdump and ss real-time ("+strings.Join(rtSched, " ")+") instead of nice -15, on a machine too busy for nice")
	pre := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if rt {
			labPrio = rtSched
			// The lab itself too: it forks the ss polls.
			if err := setRealtime(20); err != nil {
				return fmt.Errorf("--rt: %w", err)
			}
		}
		if pre != nil {
			return pre(c, args)
		}
		return nil
	}
}

// scenarioFilesIn lists the scenario files of the directory named in args,
// testdata/lab when none is.
func scenarioFilesIn(args []string) ([]string, error) {
	dir := "testdata/lab"
	if len(args) == 1 {
		dir = args[0]
	}
	return scenarioFiles(dir)
}

func newCmdRunAll(s ioStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run-all [DIR]",
		Short: "Run every scenario in DIR (default testdata/lab)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := scenarioFilesIn(args)
			if err != nil {
				return err
			}
			return runMany(s, files)
		},
	}
	addRTFlag(cmd)
	return cmd
}

func newCmdValidate(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Parse and validate every scenario file in DIR (default testdata/lab); no root needed",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := scenarioFilesIn(args)
			if err != nil {
				return err
			}
			var errs []error
			for _, f := range files {
				if _, err := LoadScenario(f); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(s.Out, "ok", f)
			}
			return errors.Join(errs...)
		},
	}
}

// newCmdChild is a hidden subcommand the lab runs inside a namespace. It
// talks to the lab over stdin and stdout: it prints "ready", reads the
// scenario's start time (see awaitStart), runs, prints its records as JSON,
// and exits when stdin is closed.
func newCmdChild(s ioStreams, name string) *cobra.Command {
	cmd := &cobra.Command{
		Use:    name + " SCENARIO.json",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := LoadScenario(args[0])
			if err != nil {
				return err
			}
			in := bufio.NewReader(s.In)
			switch name {
			case "serve":
				return runServe(sc, in, s.Out)
			case "route":
				return runRoute(sc, in, s.Out)
			}
			return runClients(sc, in, s.Out)
		},
	}
	return cmd
}

// scenarioFiles lists DIR/*.json in name order.
func scenarioFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scenario files in %s", dir)
	}
	sort.Strings(files)
	return files, nil
}

// setRealtime makes every thread of this process SCHED_FIFO at prio;
// threads created later inherit it.
func setRealtime(prio int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}, 0); err != nil {
			return fmt.Errorf("sched_setattr %d: %w", tid, err)
		}
	}
	return nil
}

// runMany runs scenarios one after another; an interrupt tears the lab down.
func runMany(s ioStreams, files []string) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		teardown()
		fmt.Fprintln(s.ErrOut, "tcplab: interrupted; namespaces removed")
		os.Exit(130)
	}()
	var errs []error
	for _, f := range files {
		if err := runScenario(f, s.ErrOut); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			fmt.Fprintln(s.ErrOut, "tcplab:", f+":", err)
		}
	}
	if n := len(errs); n > 0 {
		return fmt.Errorf("%s of %d scenarios failed: %w", strconv.Itoa(n), len(files), errors.Join(errs...))
	}
	return nil
}
