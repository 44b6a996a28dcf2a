package cli

import "github.com/spf13/cobra"

// NewRoot returns a program's root command with the `version` and `completion` commands added
// and cobra's own completion command turned off (NewCompletionCommand replaces it). Add the
// program's commands to it and run it with Execute.
func NewRoot(program, short, long string) *cobra.Command {
	root := &cobra.Command{
		Use:   program,
		Short: short,
		Long:  long,
		// Without a subcommand the root prints its help (exit 0); an unknown subcommand is a
		// usage error with suggestions.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := "unknown command %q for %q"
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					return Usagef(msg+"; did you mean %q?", args[0], program, s[0])
				}
				return Usagef(msg, args[0], program)
			}
			return nil
		},
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		CompletionOptions:          cobra.CompletionOptions{DisableDefaultCmd: true},
		SuggestionsMinimumDistance: 2,
		DisableFlagsInUseLine:      true,
	}
	root.AddCommand(NewVersionCommand(program), NewCompletionCommand(root))
	return root
}
