package main

import (
	"testing"

	"github.com/tollgate/tollgate/internal/clitest"
)

// cliCase is one command line of tollgate with the exit status and messages it must give.
type cliCase = clitest.Case

// runCases runs tollgate's cases: in-process, or as the built program where peak memory is
// bounded.
func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	clitest.Runner{Program: "tollgate", Binary: tollgate, Runstat: runstat,
		Execute: func(args []string) (int, string, string) { return run(t, args...) }}.Run(t, cases)
}
