package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// FieldError is one problem with one configuration key.
type FieldError struct {
	// Key is the full name of the key, with array indexes, as a user would
	// locate it in the file: "pipelines[1].failure.policy".
	Key string
	// Msg says what is wrong, e.g. "required" or `"twice" is not one of ...`.
	Msg string
}

// Error returns "key: msg".
func (e FieldError) Error() string { return e.Key + ": " + e.Msg }

// ValidationError lists every problem found in a configuration: unknown keys,
// values of the wrong type or syntax, and failed checks. Load and Validate
// return it (Load wraps it with the file name); use errors.As to get it.
type ValidationError struct {
	Errors []FieldError // sorted by key, indexes compared as numbers
}

// Error returns the problem on one line if there is one, otherwise a count
// followed by one problem per line.
func (e *ValidationError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Errors))
	for _, fe := range e.Errors {
		b.WriteString("\n\t")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// problems collects FieldErrors while decoding and validating.
type problems []FieldError

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns nil if there are no problems, otherwise a *ValidationError with
// the problems sorted by key. Several problems on one key are kept in order.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	errs := slices.Clone(p)
	slices.SortStableFunc(errs, func(a, b FieldError) int { return compareKeys(a.Key, b.Key) })
	return &ValidationError{Errors: errs}
}

// compareKeys orders keys as text, except that runs of digits compare as
// numbers, so pipelines[2] sorts before pipelines[10].
func compareKeys(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if na != nb {
				return na - nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// syntaxError is a TOML syntax error located as "file:line:col: message".
// It unwraps to the toml.ParseError.
type syntaxError struct {
	path string
	err  toml.ParseError
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.path, e.err.Position.Line, e.err.Position.Col, e.err.Message)
}

func (e *syntaxError) Unwrap() error { return e.err }
