package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"healthcare/models"
)

// runCreateSuperuser is the counterpart of Django's createsuperuser. An
// existing email is an error, never a silent password change.
func runCreateSuperuser(ctx context.Context, store *models.Store, email, name string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	email = models.NormalizeEmail(email) // not empty: run checked
	ctx = models.WithActor(ctx, cliActor())
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	if _, err := store.UserByEmail(ctx, email); err == nil {
		return fmt.Errorf("a user with email %s already exists", email)
	} else if models.ErrorCode(err) != models.NotFound {
		return err
	}
	password, err := superuserPassword(ctx, getenv, stdin, stdout)
	if err != nil {
		return err
	}
	u, err := store.CreateUser(ctx, models.NewUser{
		Name: name, Email: email, Password: password,
		IsActive: true, IsStaff: true, IsSuperuser: true,
	})
	if err != nil {
		return describeInvalid(err)
	}
	fmt.Fprintf(stdout, "Superuser %s created (id %d).\n", u.Email, u.ID)
	return nil
}

// superuserPassword takes the password from SUPERUSER_PASSWORD, else from a
// prompt without echo on a terminal, else from one line of stdin.
func superuserPassword(ctx context.Context, getenv func(string) string, stdin io.Reader, stdout io.Writer) (string, error) {
	if p := getenv("SUPERUSER_PASSWORD"); p != "" {
		return p, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password: ")
		first, err := readSecret(ctx, f)
		fmt.Fprintln(stdout)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stdout, "Password (again): ")
		second, err := readSecret(ctx, f)
		fmt.Fprintln(stdout)
		if err != nil {
			return "", err
		}
		if first != second {
			return "", errors.New("passwords do not match")
		}
		return first, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password: set SUPERUSER_PASSWORD or pass it on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// errPromptCancelled ends a password prompt left with Ctrl-C or Ctrl-D.
var errPromptCancelled = errors.New("cancelled: no superuser created")

// Keys a password prompt reads itself, the terminal being raw.
const (
	keyInterrupt = 0x03 // Ctrl-C
	keyEOF       = 0x04 // Ctrl-D
	keyBackspace = 0x08
	keyKill      = 0x15 // Ctrl-U: the line so far
	keyEscape    = 0x1b // begins the sequence an arrow or function key sends
	keyDelete    = 0x7f
)

// maxSecret bounds a typed password (models refuses far shorter ones).
const maxSecret = 4096

// readSecret reads a line from the terminal tty without echo. The terminal
// is raw while it does, so that Ctrl-C and Ctrl-D reach it as keys and end
// the prompt: x/term's ReadPassword ignored Ctrl-D, and Ctrl-C's SIGINT
// went to main's signal handler, which only cancels ctx, so neither ended
// it, and a second Ctrl-C killed the process with the terminal's echo
// still off. ctx (SIGTERM) ends it too; the terminal is restored however
// it ends.
func readSecret(ctx context.Context, tty *os.File) (string, error) {
	fd := int(tty.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	defer func() { _ = term.Restore(fd, state) }()
	type result struct {
		secret string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var line []byte
		var key [1]byte
		escape := 0 // bytes into an escape sequence (ESC [ 1 ; 5 D): not part of a password
		for {
			if _, err := tty.Read(key[:]); err != nil {
				done <- result{err: fmt.Errorf("read password: %w", err)}
				return
			}
			if b := key[0]; escape > 0 {
				// ESC then [ or O, then parameters, ended by a final byte
				// from @ to ~.
				if escape == 1 && (b == '[' || b == 'O') || escape > 1 && (b < 0x40 || b > 0x7e) {
					escape++
				} else {
					escape = 0
				}
				continue
			}
			switch b := key[0]; {
			case b == keyEscape:
				escape = 1
			case b == '\r' || b == '\n':
				done <- result{secret: string(line)}
				return
			case b == keyInterrupt || b == keyEOF && len(line) == 0:
				done <- result{err: errPromptCancelled}
				return
			case b == keyBackspace || b == keyDelete:
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
			case b == keyKill:
				line = line[:0]
			case b < 0x20: // other control keys: not part of a password
			case len(line) < maxSecret:
				line = append(line, b)
			}
		}
	}()
	select {
	case r := <-done:
		return r.secret, r.err
	case <-ctx.Done():
		// The reader stays blocked on the terminal until the process
		// exits, which it does: the command has failed.
		return "", errPromptCancelled
	}
}

// describeInvalid turns validation errors into one readable line.
func describeInvalid(err error) error {
	var me *models.Error
	if !errors.As(err, &me) || len(me.Fields) == 0 {
		return err
	}
	var parts []string
	for _, field := range []string{"email", "name", "password"} {
		for _, msg := range me.Fields[field] {
			parts = append(parts, field+": "+msg)
		}
	}
	return errors.New(strings.Join(parts, " "))
}
