package main

import (
	"os"
	"testing"

	"github.com/tollgate/tollgate/internal/clitest"
)

// tollgate is this program, built once for the tests that need a real process: peak memory
// and signals; runstat measures a short run's peak memory (clitest.RunMeasured).
var (
	tollgate = clitest.NewBinary(".")
	runstat  = clitest.NewBinary("../../internal/cmd/runstat")
)

func TestMain(m *testing.M) {
	code := m.Run()
	tollgate.Remove()
	runstat.Remove()
	os.Exit(code)
}
