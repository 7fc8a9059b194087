package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	password, err := superuserPassword(getenv, stdin, stdout)
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
func superuserPassword(getenv func(string) string, stdin io.Reader, stdout io.Writer) (string, error) {
	if p := getenv("SUPERUSER_PASSWORD"); p != "" {
		return p, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stdout, "Password (again): ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("passwords do not match")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password: set SUPERUSER_PASSWORD or pass it on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
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
