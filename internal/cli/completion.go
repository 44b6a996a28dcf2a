package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// NewCompletionCommand returns the `completion SHELL` command, which prints root's shell
// completion script (with descriptions) for bash, zsh, fish or powershell.
func NewCompletionCommand(root *cobra.Command) *cobra.Command {
	prog := root.Name()
	shells := []string{"bash", "zsh", "fish", "powershell"}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "print a shell completion script",
		Long: fmt.Sprintf(`Prints the script that makes SHELL complete %[1]s's commands, flags and flag values.

bash (needs the bash-completion package):
  source <(%[1]s completion bash)                          # this shell only
  %[1]s completion bash > /etc/bash_completion.d/%[1]s      # every new shell (as root)
zsh:
  %[1]s completion zsh > "${fpath[1]}/_%[1]s"               # then start a new shell
fish:
  %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish
powershell:
  %[1]s completion powershell | Out-String | Invoke-Expression`, prog),
		Example:               "  source <(" + prog + " completion bash)",
		ValidArgs:             shells,
		DisableFlagsInUseLine: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return Usagef("want one SHELL: bash, zsh, fish or powershell")
			}
			for _, s := range shells {
				if args[0] == s {
					return nil
				}
			}
			return Usagef("unknown shell %q: want bash, zsh, fish or powershell", args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			}
			return root.GenPowerShellCompletionWithDesc(w)
		},
	}
}
