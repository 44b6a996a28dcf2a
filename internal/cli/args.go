package cli

import "github.com/spf13/cobra"

// NoArgs refuses positional arguments with a usage error.
func NoArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	return nil
}

// ExactArgs wants exactly n positional arguments, named what in the error (e.g. "TRACE").
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			if n == 1 {
				return Usagef("want exactly one %s, got %d arguments", what, len(args))
			}
			return Usagef("want %d %s, got %d arguments", n, what, len(args))
		}
		return nil
	}
}

// MaxArgs wants at most n positional arguments.
func MaxArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > n {
			if n == 1 {
				return Usagef("want at most one %s, got %d arguments", what, len(args))
			}
			return Usagef("want at most %d %s, got %d arguments", n, what, len(args))
		}
		return nil
	}
}

// MinArgs wants at least n positional arguments.
func MinArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			if n == 1 {
				return Usagef("want at least one %s", what)
			}
			return Usagef("want at least %d %s, got %d", n, what, len(args))
		}
		return nil
	}
}
