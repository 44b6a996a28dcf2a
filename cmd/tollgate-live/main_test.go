package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/tollgate/tollgate/internal/clitest"
)

// tollgateLive is this program, built once for the tests that need a real process (signals,
// peak memory) with the flags of the test binary, so that the build links the packages the
// test already compiled instead of compiling the AWS SDK again; runstat measures a short run's
// peak memory.
var (
	tollgateLive = clitest.NewBinary(".")
	runstat      = clitest.NewBinary("../../internal/cmd/runstat")
)

func TestMain(m *testing.M) {
	code := m.Run()
	tollgateLive.Remove()
	runstat.Remove()
	os.Exit(code)
}

// runCases runs tollgate-live's cases: in-process, or as the built program where peak memory
// is bounded.
func runCases(t *testing.T, cases []clitest.Case) {
	t.Helper()
	clitest.Runner{Program: "tollgate-live", Binary: tollgateLive, Runstat: runstat,
		Execute: func(args []string) (int, string, string) {
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), args, &stdout, &stderr)
			return code, stdout.String(), stderr.String()
		}}.Run(t, cases)
}
