//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's two ends: what a user types is
// written to term, and the program reads it from tty.
func openPTY(t *testing.T) (term, tty *os.File) {
	t.Helper()
	term, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { term.Close() })
	if err := unix.IoctlSetPointerInt(int(term.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(term.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	go func() { _, _ = io.Copy(io.Discard, term) }() // what the terminal shows
	return term, tty
}

func lflag(t *testing.T, tty *os.File) uint32 {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag
}

// typeWhenRaw types keys once the prompt has made the terminal raw (typed
// before, the terminal's line discipline would take Ctrl-C itself).
func typeWhenRaw(t *testing.T, term, tty *os.File, keys string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); lflag(t, tty)&unix.ICANON != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("the prompt never made the terminal raw")
			return
		}
	}
	if _, err := term.WriteString(keys); err != nil {
		t.Error(err)
	}
}

// The superuser's password prompt reads without echo, takes the line
// editing keys, and ends at Ctrl-C or Ctrl-D (on an empty line) or when
// the process is told to stop, the terminal as it was before in each case.
// Ctrl-C and Ctrl-D were ignored, and a second Ctrl-C killed the process
// with the terminal's echo off.
func TestSuperuserPromptOnATerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, keys string
		cancel     bool
		want       string
		wantErr    error
	}{
		{"a password", "s3cret pass\r", false, "s3cret pass", nil},
		{"a newline ends it too", "abc\n", false, "abc", nil},
		{"backspace and delete", "abx\x7fc\x08d\r", false, "abd", nil},
		{"a character of two bytes erased whole", "pé\x7f!\r", false, "p!", nil},
		{"Ctrl-U clears the line", "wrong\x15right\r", false, "right", nil},
		{"arrow and function keys are no characters", "ab\x1b[Dc\x1bOP\x1b[1;5Cd\r", false, "abcd", nil},
		{"Ctrl-D within a line is ignored", "a\x04b\r", false, "ab", nil},
		{"Ctrl-C", "abc\x03", false, "", errPromptCancelled},
		{"Ctrl-D on an empty line", "\x04", false, "", errPromptCancelled},
		{"a stop signal (the context)", "", true, "", errPromptCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			term, tty := openPTY(t)
			before := lflag(t, tty)
			if before&unix.ECHO == 0 {
				t.Fatal("a new terminal without echo")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			go func() {
				typeWhenRaw(t, term, tty, tc.keys)
				if tc.cancel {
					cancel()
				}
			}()
			got, err := readSecret(ctx, tty)
			if !tc.cancel && ctx.Err() != nil {
				t.Fatalf("the prompt did not end at %q: it waited 10 s", tc.keys)
			}
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("readSecret = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if after := lflag(t, tty); after != before {
				t.Errorf("terminal flags after the prompt = %#x, before %#x (echo %v)", after, before, after&unix.ECHO != 0)
			}
			_, _ = term.WriteString("\n") // ends a reader the prompt left behind
		})
	}
}

// Both prompts of -createsuperuser read from the terminal.
func TestSuperuserPasswordTwiceOnATerminal(t *testing.T) {
	t.Parallel()
	term, tty := openPTY(t)
	noEnv := func(string) string { return "" }
	var shown syncBuffer
	go func() {
		typeWhenRaw(t, term, tty, "Tr1cky-Passw0rd\r")
		// The second prompt is shown after the first has given the
		// terminal back, and before it takes it again.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(shown.String(), "(again)"); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Error("no second prompt")
				return
			}
		}
		typeWhenRaw(t, term, tty, "Tr1cky-Passw0rd\r")
	}()
	got, err := superuserPassword(t.Context(), noEnv, tty, &shown)
	if err != nil || got != "Tr1cky-Passw0rd" {
		t.Errorf("superuserPassword = %q, %v", got, err)
	}
	if s := shown.String(); strings.Contains(s, "Tr1cky") || s != "Password: \nPassword (again): \n" {
		t.Errorf("the terminal showed %q", s)
	}
}
