//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SIGINT stops an import that is still reading its input: exit 130, and neither the output
// nor a temporary file is left behind. The input is a FIFO the test writes into, so the signal
// arrives while the import is certainly running, without timing guesses; the test keeps
// writing until the import stops reading.
func TestInterruptLeavesNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tollgate")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)
	fifo := filepath.Join(dir, "input.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	os.MkdirAll(outDir, 0o755)
	out := filepath.Join(outDir, "trace.jsonl")

	cmd := exec.Command(bin, "import", fifo, "--input-format", "jsonl", "--output", out)
	var stderr, stdout bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Opening the FIFO for writing blocks until the import opens it for reading.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(mustRead(t, tr), []byte("\n"))
	for _, l := range lines[:1000] {
		w.Write(l)
	}
	// The import has read records and waits for more. Interrupt it, and keep feeding it (it
	// checks for the interrupt between records) until it stops reading.
	cmd.Process.Signal(os.Interrupt)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := 0; ; i++ {
			if _, err := w.Write(lines[i%len(lines)]); err != nil {
				return // the import closed its end: it has stopped
			}
		}
	}()
	err = cmd.Wait()
	w.Close()
	<-fed
	code := cmd.ProcessState.ExitCode()
	if code != 130 || !strings.Contains(stderr.String(), "tollgate import: interrupted") {
		t.Errorf("exit %d (%v), want 130; stderr: %s\nstdout: %s", code, err, stderr.String(), stdout.String())
	}
	if names := dirNames(t, outDir); len(names) != 0 {
		t.Errorf("left behind after the interrupt: %v", names)
	}
}
