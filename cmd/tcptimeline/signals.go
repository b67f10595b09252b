package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Interrupts. The first SIGINT or SIGTERM cancels the run's context with
// an interruptCause naming the signal: the analysis stops reading and
// finishes the flows it has, the renderers write them and the partial
// marker, and the process exits 128 + the signal's number (130, 143). A
// second signal ends the process at once, with the same status.

// interruptCause is the cause of a context cancelled by a signal.
type interruptCause struct{ sig syscall.Signal }

func (c *interruptCause) Error() string { return "interrupted by " + sigName(c.sig) }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalContext returns a context cancelled with an interruptCause at the
// first SIGINT or SIGTERM, and the function that stops listening.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first syscall.Signal
		select {
		case s := <-ch:
			first = s.(syscall.Signal)
			cancel(&interruptCause{first})
		case <-done:
			return
		}
		select {
		case s := <-ch:
			// A second signal: the user does not want to wait for the
			// partial output.
			fmt.Fprintf(os.Stderr, "tcptimeline: %s again: stopping now\n", sigName(s.(syscall.Signal)))
			os.Exit(128 + int(first))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interrupted returns the signal that cancelled ctx: SIGINT for a context
// cancelled without a signal (as tests do, and as Ctrl-C does), 0 when
// ctx was not cancelled.
func interrupted(ctx context.Context) syscall.Signal {
	if ctx.Err() == nil {
		return 0
	}
	var c *interruptCause
	if errors.As(context.Cause(ctx), &c) {
		return c.sig
	}
	return syscall.SIGINT
}

// renderGrace is how long renderers keep writing after an interrupt
// before they cut their output short (render.Options.Stop): flows the
// analysis finishes in that time are still written in full.
const renderGrace = 500 * time.Millisecond

// stopAfterInterrupt returns a channel closed renderGrace after ctx is
// cancelled.
func stopAfterInterrupt(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	context.AfterFunc(ctx, func() { time.AfterFunc(renderGrace, func() { close(ch) }) })
	return ch
}
